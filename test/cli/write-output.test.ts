import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type WriteOutputOptions, writeFileWhole } from '../../src/cli/write-output.js';
import { type ErrorCode, isHeadroomError } from '../../src/errors.js';
import { useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

const at = (name: string) => path.join(scratch.dir, name);

/** The code and message writeFileWhole throws with. */
function failure(
  output: string,
  text: string,
  options: WriteOutputOptions,
): { code: ErrorCode; message: string } {
  try {
    writeFileWhole(output, text, options);
  } catch (error) {
    if (!isHeadroomError(error)) throw error;
    expect(error.details.path).toBe(output);
    return { code: error.code, message: error.message };
  }
  throw new Error(`writeFileWhole wrote ${output}`);
}

describe('writeFileWhole', () => {
  it('writes the whole text and leaves no temporary file', () => {
    fs.writeFileSync(at('run.hrc'), 'capture\n');
    writeFileWhole(at('out.html'), '<p>\n', { capture: at('run.hrc'), force: false });
    expect(fs.readFileSync(at('out.html'), 'utf8')).toBe('<p>\n');
    expect(fs.readdirSync(scratch.dir).sort()).toEqual(['out.html', 'run.hrc']);
  });

  it('keeps an existing file, even a symbolic link pointing nowhere, unless force', () => {
    fs.writeFileSync(at('out.html'), 'earlier\n');
    fs.symlinkSync(at('gone'), at('link.html'));
    const options = { capture: at('run.hrc'), force: false };
    for (const name of ['out.html', 'link.html']) {
      expect(failure(at(name), 'new\n', options)).toEqual({
        code: 'E_OUTPUT_EXISTS',
        message: `${at(name)} exists; pass --force to replace it, or -o another file`,
      });
    }
    expect(fs.readFileSync(at('out.html'), 'utf8')).toBe('earlier\n');
    expect(fs.readlinkSync(at('link.html'))).toBe(at('gone'));
    writeFileWhole(at('out.html'), 'new\n', { ...options, force: true });
    expect(fs.readFileSync(at('out.html'), 'utf8')).toBe('new\n');
  });

  it('never writes over the capture, however it is spelled, force or not', () => {
    fs.writeFileSync(at('run.hrc'), 'capture\n');
    const spelled = path.join(scratch.dir, '.', 'sub', '..', 'run.hrc');
    expect(failure(spelled, 'x', { capture: at('run.hrc'), force: true, what: 'the report' })).toEqual({
      code: 'E_OUTPUT_EXISTS',
      message: `${spelled}: is the capture itself; pick another file for the report`,
    });
    expect(fs.readFileSync(at('run.hrc'), 'utf8')).toBe('capture\n');
  });

  it('a failure is one line naming the file and what it is', () => {
    fs.mkdirSync(at('taken.html'));
    const options = { capture: at('run.hrc'), what: 'the flame graph' };
    for (const force of [false, true]) {
      expect(failure(at('taken.html'), 'x', { ...options, force })).toEqual({
        code: 'E_OUTPUT_WRITE',
        message: `cannot write the flame graph ${at('taken.html')}: is a directory`,
      });
    }
    expect(failure(at('no/such/dir/f.html'), 'x', { ...options, force: false })).toEqual({
      code: 'E_OUTPUT_WRITE',
      message: `cannot write the flame graph ${at('no/such/dir/f.html')}: no such directory`,
    });
    // A control character in the name is shown escaped, not sent to the terminal.
    const escaped = failure(at('no/\u001b[2J.html'), 'x', { capture: at('run.hrc'), force: false });
    expect(escaped.message).toMatch(/^cannot write .*no\/.+\[2J\.html: no such directory$/);
    expect(escaped.message).not.toContain('\u001b');
    expect(fs.readdirSync(scratch.dir)).toEqual(['taken.html']);
  });
});
