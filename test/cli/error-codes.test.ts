import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_STATUS, errorStatus } from '../../src/cli/error-status.js';
import type { ErrorCode } from '../../src/errors.js';
import { captureHeader, endRecord, removeCaptureDirs, writeCapture } from '../fixtures/captures.js';
import { type FixtureHost, v2Tree } from '../fixtures/cgroup-tree.js';
import { type CliResult, repoRoot, runCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();
let fixture: FixtureHost | undefined;
afterEach(() => {
  removeCaptureDirs();
  fixture?.cleanup();
  fixture = undefined;
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { cwd: scratch.dir, env });
}

/**
 * headroom's answer to an error: one line on stderr, the words and then the code in brackets, the exit
 * status the README gives the code, and, when `json` asks, {"error": {...}} with the same on stdout.
 */
function expectError(
  result: CliResult,
  code: ErrorCode,
  status: number,
  words: RegExp,
  json?: { details?: Record<string, unknown> },
): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  const line = lines[0] ?? '';
  expect(line).toMatch(new RegExp(`^headroom: .+ \\[${code}\\]$`));
  expect(line).toMatch(words);
  expect(result.status).toBe(status);
  if (!json) return;
  const printed = JSON.parse(result.stdout) as { error: { code: string; message: string; details: object } };
  expect(printed.error.code).toBe(code);
  expect(`headroom: ${printed.error.message} [${code}]`).toBe(line);
  expect(printed.error.details).toEqual(json.details ?? {});
}

/** A small file in the scratch directory. */
function file(name: string, text: string): string {
  const at = path.join(scratch.dir, name);
  fs.writeFileSync(at, text);
  return at;
}

/** A capture of a job that ran and ended, with no samples and no profile. */
function finishedCapture(name: string): string {
  const written = writeCapture((writer) => writer.end(1000, endRecord()), captureHeader(), name);
  return file(name, fs.readFileSync(written, 'utf8'));
}

describe("the README's table of error codes", () => {
  /** Code and exit status from each row of the table under "## Errors". */
  function readmeRows(): Map<string, number> {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Errors\n'));
    const rows = new Map<string, number>();
    for (const match of section
      .slice(0, section.indexOf('\n## ', 1))
      .matchAll(/^\| `(E_\w+)` \| (\d+) \|/gm)) {
      rows.set(match[1] as string, Number(match[2]));
    }
    return rows;
  }

  it('lists every code with the exit status it has, and no other', () => {
    const rows = readmeRows();
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    for (const [code, status] of rows)
      expect([code, status]).toEqual([code, ERROR_STATUS[code as ErrorCode]]);
  });

  it('run and supervise exit 125 for their own errors, but 126 and 127 for the command', () => {
    expect(errorStatus('E_USAGE', false)).toBe(2);
    expect(errorStatus('E_USAGE', true)).toBe(125);
    expect(errorStatus('E_CAPTURE_WRITE', true)).toBe(125);
    expect(errorStatus('E_NOT_EXECUTABLE', true)).toBe(126);
    expect(errorStatus('E_COMMAND_NOT_FOUND', true)).toBe(127);
  });
});

describe('each error a user can meet, as the CLI reports it', () => {
  it('E_USAGE: a bad option, also with --json, and from a command that runs a job', async () => {
    expectError(
      await cli(['summary', '--json', '--frobnicate', 'x.hrc']),
      'E_USAGE',
      2,
      /unknown option '--frobnicate' \(see headroom --help\)/,
      {},
    );
    expectError(
      await cli(['top', '--once', '--json', '--sort', 'size']),
      'E_USAGE',
      2,
      /--sort: unknown key "size"/,
      { details: { option: '--sort' } },
    );
    expectError(
      await cli(['run', '--grace', 'soon', '--', 'true']),
      'E_USAGE',
      125,
      /--grace: "soon" must be/,
    );
    expectError(await cli(['frobnicate']), 'E_USAGE', 2, /unknown command 'frobnicate'/);
  });

  it('E_BAD_SIZE', async () => {
    expectError(
      await cli(['run', '--memory', '1k', '--', 'true']),
      'E_BAD_SIZE',
      125,
      /--memory: "1k" is below the minimum of 6m/,
    );
    expectError(
      await cli(['attach', '1', '--sampling-interval', 'often']),
      'E_BAD_SIZE',
      2,
      /--sampling-interval: "often" is not a size/,
    );
  });

  it('E_CONFIG', async () => {
    file('headroom.toml', '[profiling]\ncomponents = "scheduler"\n');
    expectError(
      await cli(['run', '--', 'true']),
      'E_CONFIG',
      125,
      /headroom\.toml:2: profiling\.components: expected array/,
    );
  });

  it('E_COMMAND_NOT_FOUND and E_NOT_EXECUTABLE', async () => {
    expectError(
      await cli(['run', '--', 'no-such-command-xyz']),
      'E_COMMAND_NOT_FOUND',
      127,
      /no-such-command-xyz: command not found/,
    );
    const script = file('script.sh', 'echo hi\n');
    expectError(await cli(['run', '--', script]), 'E_NOT_EXECUTABLE', 126, /script\.sh: permission denied/);
  });

  it('E_NO_MEMORY_CONTROLLER: words, not the internal reason, and the report still in limits --json', async () => {
    fixture = v2Tree({ '/c1': {} }, { self: '/c1' });
    fixture.write('/sys/fs/cgroup/c1/cgroup.controllers', 'cpu io pids\n');
    const env = { HEADROOM_SYSROOT: fixture.root };
    const json = await cli(['limits', '--json'], env);
    expect(json.status).toBe(1);
    expect(json.stderr).toMatch(
      /^headroom: no memory cgroup controller is mounted .* \[E_NO_MEMORY_CONTROLLER\]\n$/,
    );
    const report = JSON.parse(json.stdout);
    expect(report.available).toBe(false);
    expect(report.host).not.toBeNull();
    expect(report.error).toEqual({
      code: 'E_NO_MEMORY_CONTROLLER',
      message: expect.stringMatching(/^no memory cgroup controller is mounted/),
      details: {},
    });
    const text = await cli(['limits'], env);
    expect(text.stdout).toMatch(/^memory limit unknown: no memory cgroup controller is mounted/);
    expectError(text, 'E_NO_MEMORY_CONTROLLER', 1, /no memory cgroup controller is mounted/);
  });

  it('E_CGROUP_NOT_FOUND', async () => {
    expectError(
      await cli(['top', '--once', '--json', '--cgroup-root', scratch.dir]),
      'E_CGROUP_NOT_FOUND',
      1,
      /^headroom: no memory cgroups to show: .* is neither a cgroup v2 hierarchy nor a v1 memory hierarchy/,
      { details: { path: scratch.dir } },
    );
  });

  it('E_KERNEL_FILE', async () => {
    fixture = v2Tree({ '/c1': { 'memory.max': 'plenty\n' } }, { self: '/c1' });
    const max = path.join(fixture.root, 'sys/fs/cgroup/c1/memory.max');
    expectError(
      await cli(['limits', '--json'], { HEADROOM_SYSROOT: fixture.root }),
      'E_KERNEL_FILE',
      125,
      /memory\.max: expected a number, found "plenty"/,
      { details: { path: max } },
    );
  });

  it('E_CAPTURE_WRITE', async () => {
    expectError(
      await cli(['run', '-o', path.join(scratch.dir, 'gone', 'c.hrc'), '--', 'true']),
      'E_CAPTURE_WRITE',
      125,
      /^headroom: cannot write the capture: .*gone: no such directory/,
    );
  });

  it('E_CAPTURE_READ, E_NOT_A_CAPTURE, E_CAPTURE_DAMAGED and E_CAPTURE_VERSION, with --json', async () => {
    const missing = path.join(scratch.dir, 'nope.hrc');
    expectError(
      await cli(['summary', '--json', missing]),
      'E_CAPTURE_READ',
      1,
      /nope\.hrc: cannot read: no such file/,
      {
        details: { path: missing, errno: 'ENOENT' },
      },
    );
    const other = file('other.json', '{"hello": "world"}\n');
    expectError(await cli(['summary', '--json', other]), 'E_NOT_A_CAPTURE', 1, /not a headroom capture/, {
      details: { path: other },
    });
    const cut = file('cut.hrc', JSON.stringify(captureHeader()).slice(0, 60));
    expectError(await cli(['stats', '--json', cut]), 'E_CAPTURE_DAMAGED', 1, /capture header is incomplete/, {
      details: { path: cut },
    });
    const newer = file('newer.hrc', `${JSON.stringify({ ...captureHeader(), version: 99 })}\n`);
    expectError(await cli(['summary', newer]), 'E_CAPTURE_VERSION', 1, /capture format version 99 is newer/);
  });

  it('E_NO_PROFILE, with --json', async () => {
    const bare = finishedCapture('bare.hrc');
    expectError(
      await cli(['table', '--json', bare]),
      'E_NO_PROFILE',
      1,
      /no allocation profile in .*bare\.hrc/,
      {
        details: { path: bare },
      },
    );
  });

  it('E_OUTPUT_EXISTS and E_OUTPUT_WRITE', async () => {
    const capture = finishedCapture('c.hrc');
    expectError(await cli(['report', capture, '-o', capture]), 'E_OUTPUT_EXISTS', 1, /is the capture itself/);
    expectError(
      await cli(['report', capture, '-o', path.join(scratch.dir, 'gone', 'r.html')]),
      'E_OUTPUT_WRITE',
      1,
      /cannot write the report .*gone\/r\.html: no such directory/,
    );
  });

  it('E_LISTEN, in words rather than an errno name', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      expectError(
        await cli(['exporter', '--listen', `127.0.0.1:${port}`]),
        'E_LISTEN',
        1,
        new RegExp(`^headroom: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`),
      );
    } finally {
      taken.close();
    }
  });

  it('E_NO_SUCH_PROCESS and E_NOT_NODE (attach)', async () => {
    expectError(await cli(['attach', '99999999']), 'E_NO_SUCH_PROCESS', 1, /no process with pid 99999999/);
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      expectError(
        await cli(['attach', String(sleeper.pid)]),
        'E_NOT_NODE',
        1,
        new RegExp(`pid ${sleeper.pid} is not a Node process \\(it runs .*sleep\\)`),
      );
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
