import { HeadroomError, messageOf } from './errors.js';

/** The errno name of a failed system call, or of the HeadroomError made from one. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof HeadroomError) return error.details.errno;
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/** Plain words for the failures users meet; the rest keep the system's own description. */
const WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ESRCH: 'process has exited',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

/**
 * What a failed system call means, in words for a one-line message. `instead` words a failure for where it
 * happened: a missing file read is "no such file", a missing directory written to "no such directory".
 */
export function describeErrno(error: unknown, instead: Readonly<Record<string, string>> = {}): string {
  const code = errnoCode(error);
  const words = code === undefined ? undefined : (instead[code] ?? WORDS[code]);
  if (words) return words;
  const message = messageOf(error);
  // "EIO: i/o error, read '/x'" -> "i/o error": the file is named by the caller, once.
  const described =
    code && message.startsWith(`${code}: `) ? message.slice(code.length + 2).split(', ')[0] : message;
  return described?.split('\n')[0] || code || 'unknown error';
}
