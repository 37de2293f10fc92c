import fs from 'node:fs';
import path from 'node:path';
import { sanitizeForTerminal } from '../terminal-text.js';

export interface WriteOutputOptions {
  /** The capture the file is made from: never written over, whatever `force` says. */
  capture: string;
  /** Replace an existing file. Without it an existing file is kept: an earlier output may not be redoable. */
  force: boolean;
  /** What the file is, for the failure line ("the report"): "cannot write the report x.html: ...". */
  what?: string;
}

export type WriteOutputResult = { ok: true } | { ok: false; reason: string };

/**
 * Writes a generated file whole or not at all: a temporary file beside it, renamed into place, so a
 * reader (or a crash) never sees half a file. A failure is one line naming the file, for `headroom: ...`.
 */
export function writeFileWhole(output: string, text: string, options: WriteOutputOptions): WriteOutputResult {
  const shown = sanitizeForTerminal(output);
  const cannot = (reason: string): WriteOutputResult => ({
    ok: false,
    reason: `cannot write ${options.what ? `${options.what} ` : ''}${shown}: ${reason}`,
  });
  if (path.resolve(output) === path.resolve(options.capture)) {
    const forWhat = options.what ? ` for ${options.what}` : '';
    return { ok: false, reason: `${shown}: is the capture itself; pick another file${forWhat}` };
  }
  if (!options.force) {
    // lstat: a symbolic link is a file there too, even one pointing nowhere.
    const existing = statOrUndefined(output, fs.lstatSync);
    if (existing && statOrUndefined(output, fs.statSync)?.isDirectory()) return cannot('is a directory');
    if (existing)
      return { ok: false, reason: `${shown} exists; pass --force to replace it, or -o another file` };
  }
  const temporary = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, text);
    fs.renameSync(temporary, output);
    return { ok: true };
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    return cannot(writeErrorText(error));
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

const KNOWN_ERRORS: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'no such directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

function writeErrorText(error: unknown): string {
  const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : '';
  const known = KNOWN_ERRORS[code];
  if (known) return known;
  return error instanceof Error ? error.message.split('\n')[0] || code : String(error);
}
