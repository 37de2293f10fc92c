import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorStatus } from '../../src/cli/error-status.js';
import { isHeadroomError } from '../../src/errors.js';
import { resolveCommand } from '../../src/job/resolve-command.js';
import { scratchDir } from '../helpers/run-cli.js';

let scratch: { dir: string; cleanup: () => void };
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => scratch.cleanup());

/** The exit status headroom run gives the error `run` throws (from its code, as the CLI picks it). */
function statusOf(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isHeadroomError(error) ? errorStatus(error.code, true) : undefined;
  }
}

describe('resolveCommand tells "not found" (127) from "not executable" (126) as a shell does', () => {
  it('finds programs on PATH and paths relative to the working directory', () => {
    expect(resolveCommand('sh')).toMatch(/\/sh$/);
    const script = path.join(scratch.dir, 'job.sh');
    fs.writeFileSync(script, '#!/bin/sh\n', { mode: 0o755 });
    expect(resolveCommand('./job.sh', process.env, scratch.dir)).toBe(script);
  });

  it('127 for a name on no PATH entry and for a missing path', () => {
    expect(statusOf(() => resolveCommand('no-such-program-xyz'))).toBe(127);
    expect(statusOf(() => resolveCommand('./missing', process.env, scratch.dir))).toBe(127);
    expect(statusOf(() => resolveCommand(''))).toBe(127);
  });

  it('126 for a file without execute bits and for a directory', () => {
    const file = path.join(scratch.dir, 'data.txt');
    fs.writeFileSync(file, 'x', { mode: 0o644 });
    expect(statusOf(() => resolveCommand(file))).toBe(126);
    expect(statusOf(() => resolveCommand(scratch.dir))).toBe(126);
    // Found on PATH but not executable: a shell says 126 too.
    fs.mkdirSync(path.join(scratch.dir, 'bin'));
    fs.writeFileSync(path.join(scratch.dir, 'bin', 'tool'), 'x', { mode: 0o644 });
    expect(statusOf(() => resolveCommand('tool', { PATH: path.join(scratch.dir, 'bin') }))).toBe(126);
  });
});
