import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeErrno, errnoCode } from '../src/errno-words.js';
import { HeadroomError } from '../src/errors.js';

const failed = (code: string, message = `${code}: x, open '/a, b'`): Error =>
  Object.assign(new Error(message), { code });

describe('describeErrno', () => {
  it('puts the usual failures in words', () => {
    expect(describeErrno(failed('ENOENT'))).toBe('does not exist');
    expect(describeErrno(failed('EACCES'))).toBe('permission denied');
    expect(describeErrno(failed('EPERM'))).toBe('permission denied');
    expect(describeErrno(failed('ESRCH'))).toBe('process has exited');
    expect(describeErrno(failed('EROFS'))).toBe('read-only file system');
    expect(describeErrno(failed('ENOSPC'))).toBe('no space left on the device');
  });

  it('words a failure for where it happened when asked', () => {
    expect(describeErrno(failed('ENOENT'), { ENOENT: 'no such file' })).toBe('no such file');
    expect(describeErrno(failed('EACCES'), { ENOENT: 'no such file' })).toBe('permission denied');
  });

  it("keeps the system's description of the rest, without its code and the file it names", () => {
    expect(describeErrno(failed('EIO', "EIO: i/o error, read '/x, y'"))).toBe('i/o error');
    expect(describeErrno(new Error('first\nsecond'))).toBe('first');
    expect(describeErrno('plain')).toBe('plain');
  });

  it('reads a real failure and one carried by a HeadroomError', () => {
    let error: unknown;
    try {
      fs.readFileSync('/nonexistent/headroom');
    } catch (caught) {
      error = caught;
    }
    expect(errnoCode(error)).toBe('ENOENT');
    expect(describeErrno(error)).toBe('does not exist');
    const carried = new HeadroomError('E_KERNEL_FILE', 'f: gone', { errno: 'EROFS' });
    expect(errnoCode(carried)).toBe('EROFS');
    expect(describeErrno(carried)).toBe('read-only file system');
  });
});
