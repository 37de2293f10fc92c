import { HeadroomError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Sizes as docker run takes them: a number with an optional b, k, m, g or t suffix, binary multiples,
 * case-insensitive; "kb"/"KiB"-style spellings are accepted too ("2gb" is 2 GiB, as docker reads it).
 * Throws a one-line message naming the option.
 */
export function parseSize(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) badSize(option, `"${text}" is not a size (use a number with b, k, m or g, e.g. 512m or 2g)`);
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
  if (bytes <= 0) badSize(option, `must be greater than 0, got "${text}"`);
  return bytes;
}

/** A value that is not a size, or a size out of range for its option (E_BAD_SIZE). */
function badSize(option: string, problem: string): never {
  throw new HeadroomError('E_BAD_SIZE', `${option}: ${problem}`, { option });
}

/** docker's floor for --memory: below it the job cannot even start. */
export const MIN_MEMORY = 6 * 1024 * 1024;

export function parseMemory(text: string): number {
  const bytes = parseSize(text, '--memory');
  if (bytes < MIN_MEMORY) badSize('--memory', `"${text}" is below the minimum of 6m`);
  return bytes;
}

/** --memory-swap: memory plus swap, -1 for unlimited swap (null), at least --memory. */
export function parseMemorySwap(text: string, memory: number | undefined): number | null {
  if (memory === undefined)
    throw new HeadroomError(
      'E_USAGE',
      '--memory-swap needs --memory too (it is memory plus swap, as in docker)',
      {
        option: '--memory-swap',
      },
    );
  if (text.trim() === '-1') return null;
  const bytes = parseSize(text, '--memory-swap');
  if (bytes < memory) {
    throw new HeadroomError(
      'E_BAD_SIZE',
      `--memory-swap (${text}) must be at least --memory: it is memory plus swap, as in docker`,
      { option: '--memory-swap' },
    );
  }
  return bytes;
}
