import fs from 'node:fs';
import path from 'node:path';
import { type ErrorCode, HeadroomError } from '../errors.js';
import { describeErrno, errnoCode } from '../kernel/errors.js';

/** A write's missing file is its directory: the file is what it makes. */
const NO_DIRECTORY = { ENOENT: 'no such directory', ENOTDIR: 'no such directory' };

import { sanitizeForTerminal } from '../terminal-text.js';

export interface WriteOutputOptions {
  /** The capture the file is made from: never written over, whatever `force` says. */
  capture: string;
  /** Replace an existing file. Without it an existing file is kept: an earlier output may not be redoable. */
  force: boolean;
  /** What the file is, for the failure line ("the report"): "cannot write the report x.html: ...". */
  what?: string;
}

/**
 * Writes a generated file whole or not at all: a temporary file beside it, renamed into place, so a
 * reader (or a crash) never sees half a file. A failure throws E_OUTPUT_EXISTS or E_OUTPUT_WRITE, one
 * line naming the file.
 */
export function writeFileWhole(output: string, text: string, options: WriteOutputOptions): void {
  const shown = sanitizeForTerminal(output);
  const fail = (code: ErrorCode, message: string, errno?: string): never => {
    throw new HeadroomError(code, message, errno ? { path: output, errno } : { path: output });
  };
  const cannot = (reason: string, errno?: string): never =>
    fail(
      'E_OUTPUT_WRITE',
      `cannot write ${options.what ? `${options.what} ` : ''}${shown}: ${reason}`,
      errno,
    );
  if (path.resolve(output) === path.resolve(options.capture)) {
    const forWhat = options.what ? ` for ${options.what}` : '';
    fail('E_OUTPUT_EXISTS', `${shown}: is the capture itself; pick another file${forWhat}`);
  }
  if (!options.force) {
    // lstat: a symbolic link is a file there too, even one pointing nowhere.
    const existing = statOrUndefined(output, fs.lstatSync);
    if (existing && statOrUndefined(output, fs.statSync)?.isDirectory()) cannot('is a directory', 'EISDIR');
    if (existing) fail('E_OUTPUT_EXISTS', `${shown} exists; pass --force to replace it, or -o another file`);
  }
  const temporary = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, text);
    fs.renameSync(temporary, output);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    cannot(describeErrno(error, NO_DIRECTORY), errnoCode(error));
  }
}

/** A stat that fails for another reason than a missing file (a directory it may not search) is left to the write. */
function statOrUndefined(file: string, stat: typeof fs.statSync): fs.Stats | undefined {
  try {
    return stat(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
