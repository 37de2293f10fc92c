import { describe, expect, it } from 'vitest';
import { exitStatus } from '../../src/job/exit-status.js';

describe('exitStatus', () => {
  it('is the exit code, or 128 + the signal number', () => {
    expect(exitStatus(0, null)).toBe(0);
    expect(exitStatus(3, null)).toBe(3);
    expect(exitStatus(null, 'SIGKILL')).toBe(137);
    expect(exitStatus(null, 'SIGTERM')).toBe(143);
    expect(exitStatus(null, 'SIGINT')).toBe(130);
  });
});
