import { expect } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';

/** Matches a thrown HeadroomError with `code`: `expect(f).toThrow(headroomError('E_KERNEL_FILE'))`. */
export function headroomError(code: ErrorCode): unknown {
  return expect.objectContaining({ name: 'HeadroomError', code });
}
