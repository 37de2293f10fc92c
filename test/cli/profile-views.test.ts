import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiB } from '../fixtures/captures.js';
import { NODE_PID, PYTHON_PID, profileCaptureText } from '../fixtures/profile-captures.js';
import { type CliResult, expectOneLineError, runCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

/** The fixture capture (see test/fixtures/profile-captures.ts) in the scratch directory. */
function capture(options: Parameters<typeof profileCaptureText>[0] = {}, name = 'run.hrc'): string {
  const file = path.join(scratch.dir, name);
  fs.writeFileSync(file, profileCaptureText(options));
  return file;
}

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: scratch.dir });
}

/** One line on stderr, starting "headroom:", no stack trace. */
const NO_PROFILE =
  /^headroom: no allocation profile in .*none\.hrc \(run with --profile or list the component in headroom\.toml \[profiling\] components\) \[E_NO_PROFILE\]$/;

describe('headroom table', () => {
  it('prints the top sites at the peak', async () => {
    const result = await cli(['table', capture()]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n').slice(0, 3)).toEqual([
      'allocation sites at peak (2.00s), by size: 274 MiB, count 111, in 2 processes',
      '     bytes  count  share  site                             pids',
      '   210 MiB     21  76.6%  load_everything (app/etl.py:12)  202',
    ]);
  });

  it('--json, --by count, -n and --at', async () => {
    // At 3.5 s node has exited (its profile no longer counts); python's snapshot of 2 s applies.
    const result = await cli(['table', capture(), '--json', '--by', 'count', '-n', '1', '--at', '3.5s']);
    expect(result.status).toBe(0);
    const table = JSON.parse(result.stdout);
    expect(table).toMatchObject({ at: 3500, timeMs: 3500, by: 'count', processes: 1, more: 1 });
    expect(table.totalBytes).toBe(230 * MiB);
    expect(table.totalCount).toBe(23);
    expect(table.sites).toEqual([
      {
        label: 'load_everything (app/etl.py:12)',
        name: 'load_everything',
        file: '/app/etl.py',
        line: 12,
        bytes: 210 * MiB,
        count: 21,
        share: 21 / 23,
        pids: [PYTHON_PID],
        runtime: 'python',
      },
    ]);
  });

  it('a time after the capture ends: a warning and an empty table', async () => {
    const result = await cli(['table', capture(), '--at', '1m']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      'headroom: warning: --at 1m00.0s is after the end of the capture (4.05s); nothing was running then\n',
    );
    expect(result.stdout).toBe(
      'allocation sites at 1m00.0s, by size: 0 B, count 0, in 0 processes\n' +
        '  (no memory held by profiled code at this time)\n',
    );
  });

  it.each([
    [['--at', 'noon'], /^headroom: --at: "noon" is not a time \(peak, end, or the time since the start/],
    [['--at', '-3'], /--at: "-3" is not a time/],
    [['--by', 'weight'], /--by: unknown key "weight" \(one of: size, count\)/],
    [['-n', 'ten'], /--limit: "ten" must be a whole number, 0 for all/],
  ])('refuses %j with status 2', async (args, pattern) => {
    const result = await cli(['table', capture(), ...args]);
    expect(result.status).toBe(2);
    expectOneLineError(result.stderr, pattern);
    expect(result.stdout).toBe('');
  });

  it('a capture without a profile: one line, status 1', async () => {
    const result = await cli(['table', capture({ profiles: false }, 'none.hrc')]);
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, NO_PROFILE);
    expect(result.stdout).toBe('');
  });

  it('profiling was on but no process wrote a profile: says so, not "run with --profile"', async () => {
    const file = capture({ profiles: false, header: { profiling: { python: 'growth' } } }, 'quiet.hrc');
    for (const view of [
      ['table'],
      ['tree'],
      ['stats'],
      ['export', '--format', 'speedscope'],
      ['flamegraph'],
    ]) {
      const [command, ...rest] = view as [string, ...string[]];
      const result = await cli([command, file, ...rest]);
      expect(result.status).toBe(1);
      expectOneLineError(
        result.stderr,
        /^headroom: no allocation profile in .*quiet\.hrc: profiling was on, but no Node or Python process of the job wrote a profile \(none ran, a process ran python -I, -S or -E, or the job could not write headroom's spool directory after dropping privileges\) \[E_NO_PROFILE\]$/,
      );
      expect(result.stdout).toBe('');
    }
    expect(fs.readdirSync(scratch.dir)).toEqual(['quiet.hrc']);
  });

  it('a missing file: one line, status 1', async () => {
    const result = await cli(['table', path.join(scratch.dir, 'missing.hrc')]);
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, /missing\.hrc: cannot read: no such file/);
  });

  it('a truncated capture warns and goes on', async () => {
    const result = await cli(['table', capture({ end: false })]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^headroom: warning: capture is truncated/);
    expect(result.stdout).toContain('210 MiB     21  76.6%  load_everything (app/etl.py:12)');
  });
});

describe('headroom tree', () => {
  it('prints the merged call tree, folding small frames', async () => {
    const result = await cli(['tree', capture(), '--min-share', '10%']);
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(
      'allocation tree at peak (2.00s): 274 MiB in 2 processes; frames under 10.0% folded',
    );
    expect(lines).toContain(
      '   210 MiB  76.6%  │        ├─ load_everything (app/etl.py:12)  [self 60.0 MiB]',
    );
    expect(lines).toContain('  20.0 MiB   7.3%  │        └─ ... 1 more');
  });

  it.each([
    [['--min-share', 'lots'], /--min-share: "lots" must be a percentage from 0 to 100/],
    [['--min-share', '101'], /--min-share: "101" must be a percentage/],
    [['--max-depth', '0'], /--max-depth: "0" must be a whole number from 1 to 1000/],
    [['--at', '1m1m'], /--at: "1m1m" is not a time/],
  ])('refuses %j with status 2', async (args, pattern) => {
    const result = await cli(['tree', capture(), ...args]);
    expect(result.status).toBe(2);
    expectOneLineError(result.stderr, pattern);
  });

  it('a capture without a profile', async () => {
    const result = await cli(['tree', capture({ profiles: false }, 'none.hrc')]);
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, NO_PROFILE);
  });
});

describe('headroom stats', () => {
  it('text and --json', async () => {
    const file = capture();
    const text = await cli(['stats', file]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(
      'allocation profile: 2 profiled processes; at peak (2.00s) 274 MiB, count 111',
    );
    expect(text.stdout).toContain('top sites by count, at peak');
    expect(text.stdout).toContain('pid 202: snapshot refused');
    const json = await cli(['stats', file, '--json']);
    expect(json.status).toBe(0);
    const stats = JSON.parse(json.stdout);
    expect(stats.processes.map((p: { pid: number; bytesAtPeak: number }) => [p.pid, p.bytesAtPeak])).toEqual([
      [PYTHON_PID, 230 * MiB],
      [NODE_PID, 44 * MiB],
    ]);
    expect(stats.topBySize[0]).toMatchObject({ name: 'load_everything', bytes: 210 * MiB });
    expect(stats.topByCount[0]).toMatchObject({ name: 'cacheResult', count: 80 });
  });

  it('a capture without a profile', async () => {
    const result = await cli(['stats', capture({ profiles: false }, 'none.hrc'), '--json']);
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, NO_PROFILE);
    // --json: the error, and nothing else, on stdout too.
    expect(JSON.parse(result.stdout).error.code).toBe('E_NO_PROFILE');
  });
});

describe('headroom export', () => {
  it('speedscope beside the capture, every process', async () => {
    const file = capture();
    const result = await cli(['export', file, '--format', 'speedscope']);
    expect(result.status).toBe(0);
    const output = path.join(scratch.dir, 'run.speedscope.json');
    expect(result.stderr).toBe(
      `headroom: speedscope profile of 2 processes, 274 MiB at peak (2.00s), written to ${output}; ` +
        'open it at https://www.speedscope.app\n',
    );
    const speedscope = JSON.parse(fs.readFileSync(output, 'utf8'));
    expect(speedscope.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(speedscope.profiles.map((p: { name: string }) => p.name)).toEqual([
      'python3 etl.py (pid 202)',
      'node server.mjs (pid 101)',
    ]);
  });

  it('heapprofile of the process holding the most, saying which; --pid chooses', async () => {
    const file = capture();
    const first = await cli(['export', file, '--format', 'heapprofile']);
    expect(first.status).toBe(0);
    expect(first.stderr).toContain(
      'heap profile of python3 etl.py (pid 202), 230 MiB at peak (2.00s) (the largest of 2 processes; --pid chooses another)',
    );
    const output = path.join(scratch.dir, 'run.heapprofile');
    const python = JSON.parse(fs.readFileSync(output, 'utf8'));
    expect(python.samples.reduce((sum: number, s: { size: number }) => sum + s.size, 0)).toBe(230 * MiB);

    const chosen = await cli([
      'export',
      file,
      '--format',
      'heapprofile',
      '--pid',
      '101',
      '-o',
      'node.heapprofile',
    ]);
    expect(chosen.status).toBe(0);
    expect(chosen.stderr).toContain(
      'heap profile of node server.mjs (pid 101), 44.0 MiB at peak (2.00s), written',
    );
    const node = JSON.parse(fs.readFileSync(path.join(scratch.dir, 'node.heapprofile'), 'utf8'));
    expect(node.head.children[0].callFrame).toMatchObject({ functionName: 'handleRequest', lineNumber: 39 });
  });

  it('never replaces a file without --force', async () => {
    const file = capture();
    const output = path.join(scratch.dir, 'run.heapprofile');
    fs.writeFileSync(output, 'earlier\n');
    const refused = await cli(['export', file, '--format', 'heapprofile']);
    expect(refused.status).toBe(1);
    expectOneLineError(
      refused.stderr,
      /run\.heapprofile exists; pass --force to replace it, or -o another file \[E_OUTPUT_EXISTS\]$/,
    );
    expect(fs.readFileSync(output, 'utf8')).toBe('earlier\n');
    const forced = await cli(['export', file, '--format', 'heapprofile', '--force']);
    expect(forced.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(output, 'utf8')).head.callFrame.functionName).toBe('(root)');
    const itself = await cli(['export', file, '--format', 'speedscope', '-o', file, '--force']);
    expect(itself.status).toBe(1);
    expectOneLineError(itself.stderr, /is the capture itself/);
    expect(fs.readFileSync(file, 'utf8')).toBe(profileCaptureText());
  });

  it('-o - writes to stdout', async () => {
    const result = await cli(['export', capture(), '--format', 'speedscope', '-o', '-', '--at', 'end']);
    expect(result.status).toBe(0);
    const speedscope = JSON.parse(result.stdout);
    expect(speedscope.profiles.map((p: { endValue: number }) => p.endValue)).toEqual([5 * MiB, 50 * MiB]);
    expect(speedscope.activeProfileIndex).toBe(1);
    expect(fs.readdirSync(scratch.dir)).toEqual(['run.hrc']);
  });

  it.each([
    [['--format', 'pprof'], 2, /--format: unknown format "pprof" \(one of: speedscope, heapprofile\)/],
    [[], 2, /--format is required \(speedscope or heapprofile\)/],
    [['--format', 'speedscope', '--at', 'later'], 2, /--at: "later" is not a time/],
    [['--format', 'speedscope', '--pid', 'abc'], 2, /--pid: "abc" is not a process id/],
    [
      ['--format', 'heapprofile', '--pid', '7'],
      1,
      /pid 7 has no allocation profile at peak \(2\.00s\); profiled then: 202, 101 \[E_NO_PROFILE\]$/,
    ],
    [
      ['--format', 'speedscope', '-o', 'no/such/dir/x.json'],
      1,
      /cannot write no\/such\/dir\/x\.json: no such directory \[E_OUTPUT_WRITE\]$/,
    ],
  ])('refuses %j', async (args, status, pattern) => {
    const result = await cli(['export', capture(), ...args]);
    expect(result.status).toBe(status);
    expectOneLineError(result.stderr, pattern);
    expect(fs.readdirSync(scratch.dir)).toEqual(['run.hrc']);
  });

  it('a capture without a profile, and a missing capture', async () => {
    const none = await cli(['export', capture({ profiles: false }, 'none.hrc'), '--format', 'speedscope']);
    expect(none.status).toBe(1);
    expectOneLineError(none.stderr, NO_PROFILE);
    const missing = await cli(['export', 'gone.hrc', '--format', 'speedscope']);
    expect(missing.status).toBe(1);
    expectOneLineError(missing.stderr, /gone\.hrc: cannot read/);
  });

  it("the heapprofile has the shape of Node's own --heap-prof file", async () => {
    const real = path.join(scratch.dir, 'real');
    const run = spawnSync(
      process.execPath,
      [
        '--heap-prof',
        '--heap-prof-dir',
        real,
        '-e',
        'globalThis.k = []; for (let i = 0; i < 200000; i++) globalThis.k.push({ i })',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(0);
    const [name] = fs.readdirSync(real);
    const node = JSON.parse(fs.readFileSync(path.join(real, name as string), 'utf8'));
    const ours = await cli(['export', capture(), '--format', 'heapprofile', '-o', '-']);
    const exported = JSON.parse(ours.stdout);
    // The same keys at every level, with the same types.
    const shape = (value: unknown): unknown =>
      Array.isArray(value)
        ? [shape(value[0])]
        : value && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value)
                .filter(([key]) => key !== 'children')
                .map(([key, v]) => [key, shape(v)])
                .sort(),
            )
          : typeof value;
    expect(shape(exported)).toEqual(shape(node));
    expect(shape(exported.head.children[0])).toEqual(shape(node.head.children[0]));
  });
});

describe('headroom summary', () => {
  it('lists the top sites at the peak and joins the two views, in text and --json', async () => {
    const file = capture();
    const text = await cli(['summary', file]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('  top sites    load_everything (app/etl.py:12) 210 MiB,');
    expect(text.stdout).toContain(
      'at peak: 150 MiB page cache + 250 MiB anon, of which 210 MiB was allocated in load_everything (app/etl.py:12)',
    );
    const json = await cli(['summary', file, '--json']);
    const summary = JSON.parse(json.stdout);
    expect(summary.profile.topSites[0]).toMatchObject({
      label: 'load_everything (app/etl.py:12)',
      bytes: 210 * MiB,
    });
    expect(summary.peak.bytes).toBe(400 * MiB);
    const plain = await cli(['summary', capture({ profiles: false }, 'none.hrc'), '--json']);
    expect(JSON.parse(plain.stdout)).not.toHaveProperty('profile');
  });
});
