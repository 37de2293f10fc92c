import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileAt, type Site, topSites } from '../../src/profile/profile-at.js';
import { checkSpoolRecord } from '../../src/profile/profile-decoder.js';
import type { ProcessProfile, ProfileSnapshot } from '../../src/profile/profile-model.js';
import { type Capture, readCapture } from '../../src/record/capture-reader.js';
import { type CliResult, jobsDir, MiB, repoRoot, runCli, sleep, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();
const preload = path.join(repoRoot, 'preload/python');
/** The user's own settings must not leak in from the environment the tests run in. */
const cleanEnv = { NODE_OPTIONS: '', PYTHONPATH: '', PYTHONTRACEMALLOC: '' };

async function profiledRun(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  name = 'capture.jsonl',
): Promise<[CliResult, Capture]> {
  const file = path.join(scratch.dir, name);
  const result = await runCli(['run', '-q', '--profile', '-o', file, ...args], {
    cwd: scratch.dir,
    env: { ...cleanEnv, ...env },
  });
  return [result, readCapture(file)];
}

/** Runs python3 itself with the profiler's environment set by hand; returns its spool lines by pid. */
async function profiledPython(
  args: string[],
  env: NodeJS.ProcessEnv,
  during?: (dir: string, child: ChildProcess) => Promise<void>,
  python = 'python3',
): Promise<{
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  spools: Map<number, unknown[][]>;
}> {
  const dir = path.join(scratch.dir, 'spool');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(python, args, {
    cwd: scratch.dir,
    env: {
      ...process.env,
      ...cleanEnv,
      PYTHONPATH: preload,
      HEADROOM_PROFILE_DIR: dir,
      HEADROOM_START_MS: String(Date.now()),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, signal) => resolve([code, signal])),
  );
  if (during) await during(dir, child);
  const [status, signal] = await closed;
  const spools = new Map<number, unknown[][]>();
  for (const name of fs.readdirSync(dir)) {
    const match = /^(\d+)\.jsonl$/.exec(name);
    if (!match) continue;
    const lines = fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean);
    const records = lines.map((line) => JSON.parse(line) as unknown);
    // Every line is one headroom copies into the capture.
    for (const record of records) expect(checkSpoolRecord(record)).toBe(true);
    spools.set(Number(match[1]), records as unknown[][]);
  }
  return { status, signal, stdout, stderr, spools };
}

/** Resolves once the child has written `text` to its stdout. */
function printed(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes(text)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.on('close', () => reject(new Error(`ended without printing ${JSON.stringify(text)}: ${out}`)));
  });
}

/** A CSV of about `rows` * 86 bytes: 350,000 rows is 30 MB. */
function writeCsv(file: string, rows: number): void {
  const cities = ['Lisbon', 'Porto', 'Braga', 'Faro', 'Coimbra', 'Aveiro', 'Evora', 'Leiria'];
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, 'id,name,city,amount,note,email\n');
    for (let start = 0; start < rows; start += 10_000) {
      let chunk = '';
      for (let i = start; i < Math.min(rows, start + 10_000); i++) {
        chunk += `${i},name-${String(i).padStart(7, '0')},${cities[i % 8]},${i % 997},note about row ${i} lorem ipsum,user${i}@example.com\n`;
      }
      fs.writeSync(fd, chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function peakUsage(capture: Capture): number {
  let peak = 0;
  for (const value of capture.series.values.usage.subarray(0, capture.series.length)) {
    peak = Math.max(peak, value);
  }
  return peak;
}

/** Bytes of the sites whose function is `name` or code nested in it (a comprehension). */
function bytesIn(sites: Site[], name: string): number {
  return sites
    .filter((site) => site.frame.name === name || site.frame.name.startsWith(`${name}.<locals>.`))
    .reduce((sum, site) => sum + site.bytes, 0);
}

function largest(profile: ProcessProfile): ProfileSnapshot | undefined {
  return [...profile.snapshots].sort((a, b) => b.totalBytes - a.totalBytes)[0];
}

/** The process's own sites in its largest snapshot. */
function sitesOf(capture: Capture, profile: ProcessProfile): Site[] {
  const snapshot = largest(profile);
  if (!snapshot) return [];
  const view = profileAt({ ...capture, profiles: [profile] }, snapshot.timeMs);
  return topSites(view, 'bytes', 50);
}

describe('Python allocation profiles: the growth sampler', () => {
  it('names load_everything at the peak of a job that loads a whole CSV; the chunked job peaks far lower', async () => {
    const csv = path.join(scratch.dir, 'orders.csv');
    writeCsv(csv, 350_000);
    const job = path.join(jobsDir, 'py-prof-csv.py');

    const [whole, wholeCapture] = await profiledRun(['--', 'python3', job, csv, 'whole'], {}, 'whole.jsonl');
    expect(whole.status).toBe(0);
    expect(whole.stdout).toBe('350000 rows, 8 cities\n');
    expect(wholeCapture.profiles).toHaveLength(1);
    const [profile] = wholeCapture.profiles;
    expect(profile?.info).toMatchObject({ runtime: 'python', mode: 'growth', interval: 5 });
    expect(profile?.notes).toEqual([]);
    expect(profile?.snapshots.at(-1)?.reason).toBe('exit');
    const atPeak = profileAt(wholeCapture, 'peak');
    const sites = topSites(atPeak);
    expect(sites[0]?.frame).toMatchObject({ name: 'load_everything', line: 9 });
    expect(sites[0]?.frame.file).toMatch(/py-prof-csv\.py$/);
    // The rows are about 200 MiB of dicts and strings; the profile charges most of the growth to them.
    const wholePeak = peakUsage(wholeCapture);
    expect(wholePeak).toBeGreaterThan(150 * MiB);
    expect(sites[0]?.bytes).toBeGreaterThan(0.5 * wholePeak);
    expect(sites[0]?.bytes).toBeGreaterThan(0.8 * atPeak.totalBytes);
    // The profiler's own code, where the job's thread reads memory from a collector callback, is not a site.
    expect(
      topSites(atPeak, 'bytes', 1000).filter((site) => /_headroom_\w+\.py$/.test(site.frame.file)),
    ).toEqual([]);
    // On the cgroup samples' clock: the snapshot used at the peak is from the growth before it.
    const snapshot = atPeak.parts[0]?.snapshot;
    expect(snapshot?.timeMs).toBeLessThanOrEqual(atPeak.timeMs);
    expect(snapshot?.timeMs).toBeGreaterThan((wholeCapture.series.timeMs[0] as number) - 100);

    const [chunked, chunkedCapture] = await profiledRun(
      ['--', 'python3', job, csv, 'chunked'],
      {},
      'chunked.jsonl',
    );
    expect(chunked.status).toBe(0);
    expect(chunked.stdout).toBe('350000 rows, 8 cities\n');
    expect(peakUsage(chunkedCapture)).toBeLessThan(wholePeak / 4);
    expect(profileAt(chunkedCapture, 'peak').totalBytes).toBeLessThan(atPeak.totalBytes / 10);
  }, 60_000);

  for (const method of ['fork', 'spawn']) {
    it(`profiles each worker of a multiprocessing pool (${method}), joined to its process track`, async () => {
      const [result, capture] = await profiledRun([
        '--',
        'python3',
        path.join(jobsDir, 'py-prof-pool.py'),
        method,
        '3',
      ]);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe('360000 rows in 3 workers\n');
      const workers = capture.profiles.filter(
        (profile) => bytesIn(sitesOf(capture, profile), 'build_table') > 0,
      );
      expect(workers).toHaveLength(3);
      const main = capture.profiles[0];
      for (const worker of workers) {
        expect(worker.pid).not.toBe(main?.pid);
        // Each table is about 35 MiB; the pool terminates its workers, so these came from peaks.
        const sites = sitesOf(capture, worker);
        expect(bytesIn(sites, 'build_table')).toBeGreaterThan(15 * MiB);
        expect(bytesIn(sites, 'build_table')).toBeGreaterThan(0.6 * (largest(worker)?.totalBytes ?? 0));
        const track = capture.processByPid.get(worker.pid);
        expect(track?.argv.join(' ')).toMatch(method === 'fork' ? /py-prof-pool\.py fork/ : /spawn_main/);
      }
      // At the cgroup's peak the three tables are held at once, each in its own process's branch.
      const view = profileAt(capture, 'peak');
      const parts = view.parts.filter((part) => workers.some((worker) => worker.pid === part.pid));
      expect(parts).toHaveLength(3);
      for (const part of parts) {
        expect(part.track).toBeDefined();
        expect(part.label).toContain(`(pid ${part.pid})`);
      }
      const top = topSites(view)[0];
      expect(top?.frame.name).toMatch(/^build_table/);
      expect(top?.pids).toHaveLength(3);
    }, 60_000);
  }

  it('follows a forked child that leaves with os._exit and a Python exec’d in the same pid', async () => {
    const [result, capture] = await profiledRun(['--', 'python3', path.join(jobsDir, 'py-prof-children.py')]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^child (\d+) done\nafter exec: 30000\n$/);
    const childPid = Number(/^child (\d+)/.exec(result.stdout)?.[1]);
    const parentSessions = capture.profiles.filter((profile) => profile.pid !== childPid);
    // The parent's session, then the exec'd Python's in the same pid.
    expect(parentSessions).toHaveLength(2);
    expect(parentSessions[0]?.pid).toBe(parentSessions[1]?.pid);
    expect(parentSessions[1]?.info.argv.at(-1)).toBe('exec');
    expect(bytesIn(sitesOf(capture, parentSessions[1] as ProcessProfile), 'grow_after_exec')).toBeGreaterThan(
      15 * MiB,
    );
    const child = capture.profiles.find((profile) => profile.pid === childPid);
    expect(child).toBeDefined();
    // No exit snapshot after os._exit: the peaks were written as it grew.
    expect(child?.snapshots.every((snapshot) => snapshot.reason === 'peak')).toBe(true);
    expect(bytesIn(sitesOf(capture, child as ProcessProfile), 'grow_in_child')).toBeGreaterThan(25 * MiB);
  }, 60_000);

  it('charges growth to the thread that allocates, not to one that only computes or waits in join()', async () => {
    const [result, capture] = await profiledRun(['--', 'python3', path.join(jobsDir, 'py-prof-threads.py')]);
    expect(result.status).toBe(0);
    const view = profileAt(capture, 'peak');
    const sites = topSites(view, 'bytes', 50);
    expect(sites[0]?.frame.name).toMatch(/^fill_cache/);
    // Growth is split between threads by sampled page faults: on a busy machine some lands elsewhere (5.1 %
    // on the spinning thread once; 88 % left to the allocator once, with a busy loop on every core). The
    // allocator's lion's share is what the test is about: charged to the wrong thread it would have none.
    expect(bytesIn(sites, 'fill_cache')).toBeGreaterThan(0.85 * view.totalBytes);
    expect(bytesIn(sites, 'spin')).toBeLessThan(0.1 * view.totalBytes);
  }, 60_000);

  it('keeps a recent profile of a job its cgroup OOM-kills', async () => {
    const [result, capture] = await profiledRun([
      '--memory',
      '160m',
      '--no-guard',
      '--',
      'python3',
      path.join(jobsDir, 'py-prof-hoard.py'),
    ]);
    expect(result.status).not.toBe(0);
    expect(capture.end?.oomKills).toBeGreaterThan(0);
    const [profile] = capture.profiles;
    // Killed: no exit snapshot, but the peaks written as it grew.
    expect(profile?.snapshots.length).toBeGreaterThan(0);
    expect(profile?.snapshots.every((snapshot) => snapshot.reason === 'peak')).toBe(true);
    const sites = topSites(profileAt(capture, 'end'));
    expect(sites[0]?.frame.name).toMatch(/^hoard/);
    // Within a peak step (10 %) and a few samples of the limit.
    expect(bytesIn(sites, 'hoard')).toBeGreaterThan(100 * MiB);
  }, 60_000);

  it("keeps the user's own PYTHONPATH and sitecustomize working", async () => {
    const site = path.join(scratch.dir, 'site');
    fs.mkdirSync(site);
    fs.writeFileSync(path.join(site, 'sitecustomize.py'), 'print("user sitecustomize")\n');
    fs.writeFileSync(path.join(site, 'usermod.py'), 'VALUE = 42\n');
    const [result, capture] = await profiledRun(
      [
        '--',
        'python3',
        '-c',
        'import usermod, sys; print(usermod.VALUE, "_headroom_profile" in sys.modules)',
      ],
      { PYTHONPATH: site },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('user sitecustomize\n42 True\n');
    expect(capture.profiles).toHaveLength(1);
    expect(capture.profiles[0]?.snapshots.at(-1)?.reason).toBe('exit');
  }, 30_000);

  it('costs nothing without HEADROOM_PROFILE_DIR, and never breaks the job when its spool is unusable', async () => {
    const script =
      'import sys, threading; print("_headroom_profile" in sys.modules, threading.active_count(), len(sys._current_frames()))';
    const plain = await runPython(['-c', script], { PYTHONPATH: preload });
    expect(plain).toEqual({ status: 0, stdout: 'False 1 1\n', stderr: '' });
    const broken = await runPython(['-c', 'print(sum(range(10)))'], {
      PYTHONPATH: preload,
      HEADROOM_PROFILE_DIR: path.join(scratch.dir, 'missing'),
    });
    expect(broken).toEqual({ status: 0, stdout: '45\n', stderr: '' });
  });

  it('answers a request for a snapshot, with lines headroom accepts', async () => {
    // The job holds its memory until the test has seen the answer (or given up): a busy machine may take
    // seconds to start it, and a fixed wait could ask before the session starts or after the job ended.
    const release = path.join(scratch.dir, 'release');
    const { status, spools } = await profiledPython(
      [
        '-c',
        'import os, sys, time\ndef hold():\n    x = bytearray(8 << 20)\n    print("holding", flush=True)\n    while not os.path.exists(sys.argv[1]):\n        time.sleep(0.05)\nhold()',
        release,
      ],
      {},
      async (dir, child) => {
        await printed(child, 'holding\n');
        const spool = path.join(dir, `${child.pid}.jsonl`);
        const written = async (reason: string): Promise<void> => {
          for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
            if (fs.existsSync(spool) && fs.readFileSync(spool, 'utf8').includes(`"${reason}"`)) return;
          }
        };
        // After the snapshot of the 8 MiB peak, which would otherwise answer the request too.
        await written('peak');
        fs.writeFileSync(path.join(dir, 'request'), '');
        await written('request');
        fs.writeFileSync(release, '');
      },
    );
    expect(status).toBe(0);
    expect(spools.size).toBe(1);
    const records = [...spools.values()][0] ?? [];
    expect(records[0]?.[0]).toBe('I');
    const reasons = records.filter((record) => record[0] === 'A').map((record) => record[2]);
    expect(reasons).toContain('request');
    expect(reasons.at(-1)).toBe('exit');
  });

  it('writes a requested snapshot at once while the job churns objects at flat memory', async () => {
    // The job's thread looks from its collector callbacks all the time but, memory flat, never writes.
    // "At once" is before the job ends: it churns for 12 s, and on a loaded machine the answer took more
    // than the second this test once gave it.
    let answered = false;
    const { status, stdout, spools } = await profiledPython(
      [path.join(jobsDir, 'py-prof-churn.py'), '12'],
      {},
      async (dir, child) => {
        await printed(child, 'churning\n');
        await sleep(300);
        fs.writeFileSync(path.join(dir, 'request'), '');
        const spool = path.join(dir, `${child.pid}.jsonl`);
        const running = (): boolean => child.exitCode === null && child.signalCode === null;
        while (running() && !answered) {
          await sleep(50);
          const written = fs.existsSync(spool) && fs.readFileSync(spool, 'utf8').includes('"request"');
          answered = written && running();
        }
      },
    );
    expect(status).toBe(0);
    expect(stdout).toMatch(/^churning\n\d+ rounds\n$/);
    expect(answered, 'the request was answered while the job still ran').toBe(true);
    const records = [...spools.values()][0] ?? [];
    expect(records.filter((record) => record[0] === 'A').map((record) => record[2])).toContain('request');
  });

  it("leaves the job's signals to it: Ctrl-C and a SIGTERM handler's sys.exit end a job that allocates in C", async () => {
    // list(map(list, ...)) allocates with no check for signals in the job's own code: a pending signal's
    // handler runs in the profiler's collector callback, whose exceptions the interpreter drops.
    const job = path.join(jobsDir, 'py-prof-churn.py');
    for (const [signal, args] of [
      ['SIGINT', []],
      ['SIGTERM', ['exit-on-term']],
    ] as const) {
      let sentAt = 0;
      let endedAt = 0;
      const result = await profiledPython([job, '30', ...args], {}, async (_dir, child) => {
        await printed(child, 'churning\n');
        await sleep(300);
        sentAt = Date.now();
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await new Promise((resolve) => child.on('close', resolve));
        clearTimeout(timer);
        endedAt = Date.now();
      });
      expect(result.stderr).not.toMatch(/Exception ignored/);
      if (signal === 'SIGINT') {
        // An unhandled KeyboardInterrupt: the traceback, then Python ends itself with SIGINT.
        expect(result.stderr).toMatch(/\nKeyboardInterrupt\n$/);
        expect(result.signal).toBe('SIGINT');
      } else {
        expect(result).toMatchObject({ status: 3, signal: null, stderr: '' });
      }
      expect(endedAt - sentAt).toBeLessThan(2000);
      expect(result.spools.size).toBe(1);
    }
  }, 30_000);

  it('starts no session in a child that subprocess execs after a preexec_fn, and one in a forked child', async () => {
    const { status, stdout, stderr, spools } = await profiledPython(
      [path.join(jobsDir, 'py-prof-spawns.py'), '5'],
      {},
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const childPid = Number(/^spawned, child (\d+) exited 0\n$/.exec(stdout)?.[1]);
    // The parent's spool and the forked child's: none for the five exec'd ones.
    expect(spools.size).toBe(2);
    const child = spools.get(childPid) ?? [];
    expect(child[0]?.[0]).toBe('I');
    expect(child.filter((record) => record[0] === 'A').at(-1)?.[2]).toBe('exit');
  });
});

/** A Python 3.12 or later, which warns at fork() in a process with threads; undefined when none is here. */
function laterPython(): string | undefined {
  const pyenv = path.join(os.homedir(), '.pyenv/versions');
  const candidates = ['python3.13', 'python3.12'];
  if (fs.existsSync(pyenv)) {
    for (const version of fs.readdirSync(pyenv)) candidates.push(path.join(pyenv, version, 'bin/python3'));
  }
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 12))'], {
      encoding: 'utf8',
    });
    if (probe.stdout === 'True\n') return candidate;
  }
  return undefined;
}

const python312 = laterPython();

describe.skipIf(python312 === undefined)('Python 3.12+: fork() and the sampler thread', () => {
  it("does not make a single-threaded job's fork() warn, and leaves the warning to jobs with threads", async () => {
    const quiet = await profiledPython(
      ['-W', 'error::DeprecationWarning', path.join(jobsDir, 'py-prof-children.py')],
      {},
      undefined,
      python312,
    );
    expect(quiet.stderr).toBe('');
    expect(quiet.status).toBe(0);
    expect(quiet.spools.size).toBe(2);
    const threaded = await profiledPython(
      [
        '-c',
        'import os, threading, time\nt = threading.Thread(target=time.sleep, args=(0.5,))\nt.start()\n' +
          'pid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\nt.join()',
      ],
      {},
      undefined,
      python312,
    );
    expect(threaded.status).toBe(0);
    expect(threaded.stderr).toMatch(/DeprecationWarning: This process \(pid=\d+\) is multi-threaded/);
  }, 30_000);
});

describe('Python allocation profiles: tracemalloc', () => {
  it('finds the allocation sites of a small job, with live block counts', async () => {
    const [result, capture] = await profiledRun([
      '--python-profiler',
      'tracemalloc',
      '--',
      'python3',
      path.join(jobsDir, 'py-prof-records.py'),
      '100000',
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^100000 records/);
    expect(capture.profiles).toHaveLength(1);
    const [profile] = capture.profiles;
    expect(profile?.info).toMatchObject({ runtime: 'python', mode: 'tracemalloc' });
    expect(profile?.notes).toEqual([]);
    // The exit snapshot is left out when nothing changed since the one before: on a loaded machine the
    // last tick can take the peak after the job's last allocation, and that peak is the end.
    expect(['exit', 'peak']).toContain(profile?.snapshots.at(-1)?.reason);
    const sites = topSites(profileAt(capture, 'end'));
    // tracemalloc records file and line; the function comes from the loaded module's code objects.
    expect(sites[0]?.frame).toMatchObject({ name: 'make_records.<locals>.<listcomp>', line: 6 });
    // 100,000 tuples, strings and floats: 300,000 live blocks, about 19 MiB.
    expect(sites[0]?.count).toBeGreaterThanOrEqual(299_000);
    expect(sites[0]?.bytes).toBeGreaterThan(15 * MiB);
    // The profiler's own allocations are not the job's.
    expect(sites.some((site) => /_headroom_\w+\.py$/.test(site.frame.file))).toBe(false);
  }, 60_000);

  it('refuses a snapshot that would not fit under the limit, with a note, and the job carries on', async () => {
    const [result, capture] = await profiledRun([
      '--memory',
      '200m',
      '--python-profiler',
      'tracemalloc',
      '--',
      'python3',
      path.join(jobsDir, 'py-prof-records.py'),
      '150000',
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^150000 records/);
    const [profile] = capture.profiles;
    const notes = profile?.notes.map((note) => note.message) ?? [];
    expect(notes.length).toBeGreaterThan(0);
    for (const note of notes) {
      expect(note).toMatch(
        /^(peak|exit) snapshot skipped: it would need ~\d+ MiB, only \d+ MiB left under the /,
      );
    }
    expect(capture.end).toMatchObject({ exitCode: 0, oomKills: 0 });
  }, 60_000);

  it('takes no snapshot at all when nothing fits', async () => {
    const { status, stdout, spools } = await profiledPython(
      ['-c', 'x = [str(i) for i in range(200000)]; print(len(x))'],
      { HEADROOM_PYTHON_PROFILER: 'tracemalloc', HEADROOM_LIMIT_BYTES: '1' },
    );
    expect(status).toBe(0);
    expect(stdout).toBe('200000\n');
    const records = [...spools.values()][0] ?? [];
    expect(records.filter((record) => record[0] === 'A')).toEqual([]);
    const notes = records.filter((record) => record[0] === 'W').map((record) => record[2]);
    expect(notes.length).toBeGreaterThan(0);
    expect(notes.at(-1)).toMatch(
      /^exit snapshot skipped: it would need ~\d+ MiB, only 0 MiB left under the limit$/,
    );
  });
});

function runPython(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('python3', args, {
    cwd: scratch.dir,
    env: { ...process.env, ...cleanEnv, HEADROOM_PROFILE_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}
