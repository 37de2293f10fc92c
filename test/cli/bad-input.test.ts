import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturesIn, expectOneLineError, runCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

/** One line on stderr starting "headroom:" (or commander's "error:"), nothing else, no stack trace. */
describe('headroom run rejects bad input with one line and the documented status', () => {
  it.each([
    ['abc', /--memory: "abc" is not a size/],
    ['-1', /--memory: "-1" is not a size/],
    ['0', /--memory: must be greater than 0/],
    ['1k', /below the minimum of 6m/],
  ])('--memory %s', async (value, pattern) => {
    const result = await runCli(['run', '--memory', value, '--', 'true'], { cwd: scratch.dir });
    expect(result.status).toBe(125);
    expectOneLineError(result.stderr, pattern);
    expect(capturesIn(scratch.dir)).toEqual([]);
  });

  it('accepts 2gb as docker does (2 GiB)', async () => {
    const result = await runCli(['run', '--quiet', '--memory', '2gb', '-o', 'c.jsonl', '--', 'true'], {
      cwd: scratch.dir,
    });
    expect(result.status).toBe(0);
    const header = JSON.parse(
      fs.readFileSync(path.join(scratch.dir, 'c.jsonl'), 'utf8').split('\n')[0] ?? '',
    );
    expect(header.limit.bytes).toBe(2 * 1024 ** 3);
  });

  it('--memory-swap below --memory, or without it', async () => {
    const below = await runCli(['run', '--memory', '512m', '--memory-swap', '256m', '--', 'true'], {
      cwd: scratch.dir,
    });
    expect(below.status).toBe(125);
    expectOneLineError(below.stderr, /must be at least --memory/);
    const alone = await runCli(['run', '--memory-swap', '1g', '--', 'true'], { cwd: scratch.dir });
    expect(alone.status).toBe(125);
    expectOneLineError(alone.stderr, /needs --memory/);
  });

  it('a missing command', async () => {
    const result = await runCli(['run'], { cwd: scratch.dir });
    expect(result.status).toBe(125);
    expectOneLineError(result.stderr, /missing required argument/);
  });

  it('a command that does not exist exits 127', async () => {
    const result = await runCli(['run', '--', 'no-such-command-xyz'], { cwd: scratch.dir });
    expect(result.status).toBe(127);
    expectOneLineError(
      result.stderr,
      /^headroom: no-such-command-xyz: command not found \[E_COMMAND_NOT_FOUND\]$/,
    );
    expect(capturesIn(scratch.dir)).toEqual([]);
  });

  it('a file that is not executable exits 126', async () => {
    const file = path.join(scratch.dir, 'script.sh');
    fs.writeFileSync(file, 'echo hi\n', { mode: 0o644 });
    const result = await runCli(['run', '--', file], { cwd: scratch.dir });
    expect(result.status).toBe(126);
    expectOneLineError(result.stderr, /permission denied/);
  });

  it('an unknown option', async () => {
    const result = await runCli(['run', '--frobnicate', '--', 'true'], { cwd: scratch.dir });
    expect(result.status).toBe(125);
    expectOneLineError(result.stderr, /unknown option '--frobnicate'/);
  });

  it('a capture that cannot be written: missing directory, or $HEADROOM_HOME somewhere impossible', async () => {
    const output = await runCli(['run', '-o', '/nonexistent-dir/c.jsonl', '--', 'true'], {
      cwd: scratch.dir,
    });
    expect(output.status).toBe(125);
    expectOneLineError(
      output.stderr,
      /^headroom: cannot write the capture: \/nonexistent-dir: no such directory \[E_CAPTURE_WRITE\]$/,
    );
    const home = await runCli(['run', '--', 'true'], {
      cwd: scratch.dir,
      env: { HEADROOM_HOME: '/proc/headroom-x' },
    });
    expect(home.status).toBe(125);
    expectOneLineError(home.stderr, /^headroom: cannot write the capture: \/proc\/headroom-x/);
  });

  it('an unknown command', async () => {
    const result = await runCli(['frobnicate'], { cwd: scratch.dir });
    expect(result.status).toBe(2);
    expectOneLineError(result.stderr, /unknown command 'frobnicate'/);
  });

  it('options after the command belong to the job', async () => {
    const result = await runCli(['run', '--quiet', 'sh', '-c', 'echo "$@"', 'x', '--memory', 'abc'], {
      cwd: scratch.dir,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('--memory abc\n');
  });
});

describe('headroom summary rejects what is not a capture', () => {
  it.each([
    ['empty', ''],
    ['garbage', '\u0000\u0001garbage\n'],
    ['other JSON', '{"hello": "world"}\n'],
  ])('%s file', async (_name, content) => {
    const file = path.join(scratch.dir, 'bad.jsonl');
    fs.writeFileSync(file, content);
    const result = await runCli(['summary', file], { cwd: scratch.dir });
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, /^headroom: .*bad\.jsonl/);
  });

  it('a file that does not exist', async () => {
    const result = await runCli(['summary', 'nope.jsonl'], { cwd: scratch.dir });
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, /nope\.jsonl/);
  });

  it('a truncated capture is read up to the cut, with a warning', async () => {
    const capture = path.join(scratch.dir, 'c.jsonl');
    const ran = await runCli(['run', '--quiet', '-o', capture, '--', 'sleep', '0.5'], { cwd: scratch.dir });
    expect(ran.status).toBe(0);
    const text = fs.readFileSync(capture, 'utf8');
    // Cut in the records, past the header: a capture cut inside its header is not readable at all.
    const records = text.indexOf('\n') + 1;
    fs.writeFileSync(capture, text.slice(0, records + Math.floor((text.length - records) * 0.6)));
    const result = await runCli(['summary', '--json', capture], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).truncated).toBe(true);
    expect(result.stderr).toMatch(/warning/);
  });
});
