import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseListeningSockets } from '../../src/kernel/inspector-port.js';
import {
  CAP_SYS_PTRACE,
  catchesSignal,
  hasCapability,
  parseProcessStatus,
  pidAlive,
} from '../../src/kernel/process-identity.js';
import { DEFAULT_SAMPLING_INTERVAL, withinFetchBudget } from '../../src/profile/attach.js';
import { inspectorPortOption } from '../../src/profile/attach-target.js';
import { profileAt, topSites } from '../../src/profile/profile-at.js';
import { readCapture } from '../../src/record/capture-reader.js';
import {
  capturesIn,
  cliPath,
  finish,
  jobsDir,
  runCli,
  scratchDir,
  sleep,
  startCli,
} from '../helpers/run-cli.js';

const TARGET = path.join(jobsDir, 'attach-target.mjs');

let scratch: { dir: string; cleanup: () => void };
const started: ChildProcess[] = [];
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
  scratch.cleanup();
});

interface Target {
  child: ChildProcess;
  pid: number;
  stderr: () => string;
}

/** Starts the fixture (through `prefix`, e.g. unshare) and waits until its ring of records is full. */
async function startTarget(options: { nodeArgs?: string[]; args?: string[]; prefix?: string[] } = {}) {
  const command = [...(options.prefix ?? []), process.execPath, ...(options.nodeArgs ?? []), TARGET];
  const child = spawn(command[0] as string, [...command.slice(1), ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', () => reject(new Error(`the target exited: ${stderr}`)));
  });
  return { child, pid: child.pid as number, stderr: () => stderr } satisfies Target;
}

/** A loopback port something else listens on, which a target's inspector then cannot take. */
async function takenPort(): Promise<{ port: number; release: () => void }> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  return { port: (holder.address() as net.AddressInfo).port, release: () => holder.close() };
}

/** Polls `done` until it holds, failing after 10 s with what was awaited. */
async function waitUntil(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`waited 10 s for ${what}`);
    await sleep(20);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The inspector ports the target announced on its stderr ("Debugger listening on ws://127.0.0.1:N/..."). */
function announcedPorts(target: Target): number[] {
  return [...target.stderr().matchAll(/Debugger listening on ws:\/\/[^:]+:(\d+)\//g)].map((m) =>
    Number(m[1]),
  );
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function topSiteAtEnd(file: string) {
  const capture = readCapture(file);
  return { capture, sites: topSites(profileAt(capture, 'end')) };
}

describe('headroom attach', () => {
  it('opens the inspector, samples the heap into a capture with the cgroup, and closes it again', async () => {
    // Port 0: the inspector takes a free port, found from the process's sockets; "serve" adds an HTTP
    // socket of the target's own that must not be taken for the inspector.
    const target = await startTarget({ nodeArgs: ['--inspect-port=0'], args: ['serve'] });
    const file = path.join(scratch.dir, 'attach.jsonl');
    // 3 s: a fetch before the final one fits in the time budget by 2 s at the latest.
    const result = await runCli(['attach', String(target.pid), '--duration', '3', '-o', file], {
      cwd: scratch.dir,
    });
    expect(result.stdout).toMatch(/opened and closed again/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/%\s+retainRecords \(jobs\/attach-target\.mjs:\d+\)/);

    const { capture, sites } = topSiteAtEnd(file);
    expect(capture.end).toBeDefined();
    expect(capture.truncated).toBe(false);
    expect(capture.header.cgroup.mode).toBe('observe');
    expect(capture.header.command.at(-1)).toBe('serve');
    expect(capture.series.length).toBeGreaterThan(5);
    expect(capture.processByPid.get(target.pid)?.argv).toContain(TARGET);
    const profiles = capture.profiles.filter((p) => p.pid === target.pid);
    expect(profiles).toHaveLength(1);
    // As light on the process as the preload: a sample every 128 KiB, not V8's 32 KiB.
    expect(profiles[0]?.info.interval).toBe(128 * 1024);
    expect(DEFAULT_SAMPLING_INTERVAL).toBe(128 * 1024);
    const snapshots = profiles[0]?.snapshots ?? [];
    expect(snapshots.length).toBeGreaterThanOrEqual(2);
    expect(snapshots.every((s) => s.reason === 'attach')).toBe(true);
    // About 30 MiB live in the ring, sampled.
    expect(snapshots.at(-1)?.totalBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(sites[0]?.frame.name).toBe('retainRecords');
    expect(sites[0]?.bytes).toBeGreaterThan(0.8 * (snapshots.at(-1)?.totalBytes ?? 0));

    // Left as it was: running, and the inspector it announced is closed.
    const [port] = announcedPorts(target);
    expect(port).toBeGreaterThan(0);
    expect(await connects(port as number)).toBe(false);
    expect(isAlive(target.pid)).toBe(true);

    // ... and as attachable as before.
    const again = await runCli(['attach', String(target.pid), '--duration', '1'], { cwd: scratch.dir });
    expect(again.status).toBe(0);
    expect(capturesIn(scratch.dir)).toHaveLength(1);
    expect(isAlive(target.pid)).toBe(true);
  }, 30_000);

  it('uses an inspector that is open already and leaves it open', async () => {
    const target = await startTarget({ nodeArgs: ['--inspect=127.0.0.1:0'] });
    const [port] = announcedPorts(target);
    const file = path.join(scratch.dir, 'open.jsonl');
    const result = await runCli(
      ['attach', String(target.pid), '--duration', '1', '--sampling-interval', '64k', '-o', file],
      { cwd: scratch.dir },
    );
    expect(result.stdout).toMatch(/was open already and stays open/);
    expect(result.status).toBe(0);
    const { capture, sites } = topSiteAtEnd(file);
    expect(sites[0]?.frame.name).toBe('retainRecords');
    expect(capture.profiles[0]?.info.interval).toBe(64 * 1024);
    expect(await connects(port as number)).toBe(true);
    expect(isAlive(target.pid)).toBe(true);
  }, 30_000);

  it('reads a heap profiler the process runs itself and leaves it running', async () => {
    const target = await startTarget({ nodeArgs: ['--inspect-port=0'], args: ['self-sample'] });
    const file = path.join(scratch.dir, 'theirs.jsonl');
    const result = await runCli(['attach', String(target.pid), '--duration', '1', '-o', file], {
      cwd: scratch.dir,
    });
    expect(result.stderr).toMatch(/was already sampling its heap/);
    expect(result.status).toBe(0);
    expect(topSiteAtEnd(file).sites[0]?.frame.name).toBe('retainRecords');
    const answer = new Promise<string>((resolve) =>
      target.child.stdout?.on('data', (chunk: Buffer) => {
        const line = /sampling: \w+/.exec(chunk.toString());
        if (line) resolve(line[0]);
      }),
    );
    target.child.kill('SIGUSR2');
    expect(await answer).toBe('sampling: on');
  }, 30_000);

  it('stops early on SIGINT and still writes the capture and closes the inspector', async () => {
    const target = await startTarget({ nodeArgs: ['--inspect-port=0'] });
    const file = path.join(scratch.dir, 'stopped.jsonl');
    const child = startCli(['attach', String(target.pid), '--duration', '60', '-o', file], {
      cwd: scratch.dir,
    });
    // Once the session has started (the capture has its "I" record), interrupt.
    for (
      let i = 0;
      i < 100 && !/\["I",/.test(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
      i++
    ) {
      await sleep(50);
    }
    await sleep(300);
    const interrupted = Date.now();
    child.kill('SIGINT');
    const result = await finish(child);
    expect(Date.now() - interrupted).toBeLessThan(5000);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/stopped early/);
    expect(result.stderr).toMatch(/^headroom: stopping/);
    const { capture, sites } = topSiteAtEnd(file);
    expect(capture.end).toBeDefined();
    expect(capture.profiles[0]?.snapshots.length).toBeGreaterThanOrEqual(1);
    expect(sites[0]?.frame.name).toBe('retainRecords');
    expect(await connects(announcedPorts(target)[0] as number)).toBe(false);
    expect(isAlive(target.pid)).toBe(true);
  }, 30_000);

  it('keeps what it sampled when the process exits during the attach', async () => {
    // Counted from the inspector's opening: counted from the start, a slow attach found the target gone.
    const target = await startTarget({ nodeArgs: ['--inspect-port=0'], args: ['exit-after-open=2000'] });
    const file = path.join(scratch.dir, 'exited.jsonl');
    const result = await runCli(['attach', String(target.pid), '--duration', '6', '-o', file], {
      cwd: scratch.dir,
    });
    // Node waits at exit for the session to close: headroom takes the last snapshot then and lets it go.
    expect(result.stderr).toMatch(/exited before the attach was over/);
    expect(result.status).toBe(0);
    const { capture, sites } = topSiteAtEnd(file);
    expect(capture.end?.durationMs).toBeLessThan(5000);
    expect(capture.profiles[0]?.snapshots.at(-1)?.reason).toBe('exit');
    expect(sites[0]?.frame.name).toBe('retainRecords');
    expect(capture.processByPid.get(target.pid)?.endMs).not.toBeNull();
  }, 30_000);
});

describe('headroom attach errors', () => {
  /** Usage errors exit 2 and failed attaches 1, as in the other commands that run no job (not 125). */
  async function attachFails(args: string[], message: RegExp, status: 1 | 2) {
    const result = await runCli(['attach', ...args], { cwd: scratch.dir });
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.status).toBe(status);
    expect(capturesIn(scratch.dir)).toHaveLength(0);
    return result;
  }

  it('refuses a pid that is not there, bad arguments, and a process that is not Node (unsignalled)', async () => {
    await attachFails(['99999999'], /^headroom: no process with pid 99999999 \[E_NO_SUCH_PROCESS\]$/m, 1);
    await attachFails([], /missing required argument 'pid'/, 2);
    await attachFails(['abc'], /PID must be a process id/, 2);
    await attachFails(['1', '--duration', 'soon'], /--duration must be seconds/, 2);
    await attachFails(['1', '--sampling-interval', 'often'], /--sampling-interval: "often" is not a size/, 2);
    await attachFails(['1', '--sampling-interval', '0'], /--sampling-interval: must be greater than 0/, 2);
    const sleeper = spawn('sleep', ['30']);
    started.push(sleeper);
    await sleep(100);
    await attachFails([String(sleeper.pid)], /is not a Node process \(it runs .*sleep\)/, 1);
    // SIGUSR1 would have killed it: it was never sent.
    expect(isAlive(sleeper.pid as number)).toBe(true);
  }, 30_000);

  it('says so when the inspector cannot open because its port is taken', async () => {
    const { port, release } = await takenPort();
    try {
      const target = await startTarget({ nodeArgs: [`--inspect-port=${port}`] });
      await attachFails(
        [String(target.pid), '--duration', '1'],
        new RegExp(`port ${port} is in use.* \\[E_INSPECTOR\\]$`, 'm'),
        1,
      );
      expect(isAlive(target.pid)).toBe(true);
    } finally {
      release();
    }
  }, 30_000);

  it('a second Ctrl-C leaves at once, with exit status 130 and E_INTERRUPTED', async () => {
    // A taken port keeps headroom waiting for the inspector for 5 s: time for both signals.
    const { port, release } = await takenPort();
    try {
      const target = await startTarget({ nodeArgs: [`--inspect-port=${port}`] });
      const child = startCli(['attach', String(target.pid)], { cwd: scratch.dir });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const result = finish(child);
      // SIGUSR1 has been sent (headroom handles SIGINT by then) once Node says its inspector failed.
      await waitUntil(() => /Starting inspector on .* failed/.test(target.stderr()), 'the inspector to fail');
      child.kill('SIGINT');
      await waitUntil(() => /^headroom: stopping/m.test(stderr), 'headroom to say it is stopping');
      child.kill('SIGINT');
      const { status, stderr: said } = await result;
      expect(status).toBe(130);
      expect(said.trimEnd().split('\n').at(-1)).toBe(
        'headroom: stopped before the process was left as it was: its inspector may still be open [E_INTERRUPTED]',
      );
      expect(isAlive(target.pid)).toBe(true);
    } finally {
      release();
    }
  }, 30_000);

  it('refuses a thread, naming its process', async () => {
    const target = await startTarget();
    const thread = fs.readdirSync(`/proc/${target.pid}/task`).find((tid) => tid !== String(target.pid));
    expect(thread).toBeDefined();
    await attachFails(
      [String(thread)],
      new RegExp(
        `^headroom: pid ${thread} is a thread of process ${target.pid}: attach to ${target.pid} \\[E_ATTACH\\]$`,
        'm',
      ),
      1,
    );
  }, 30_000);

  it('refuses a process in another network namespace', async (context) => {
    if (spawnSync('unshare', ['-n', 'true']).status !== 0) context.skip();
    const target = await startTarget({ prefix: ['unshare', '-n'] });
    // unshare execs node, so the pid is the Node process.
    await attachFails([String(target.pid)], /another network namespace.* \[E_ATTACH\]$/m, 1);
    expect(isAlive(target.pid)).toBe(true);
  }, 30_000);

  it('refuses a process headroom may not signal', async (context) => {
    if (process.getuid?.() !== 0) context.skip();
    const target = await startTarget();
    const child = spawn(process.execPath, [cliPath, 'attach', String(target.pid)], {
      cwd: os.tmpdir(),
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = await finish(child);
    expect(result.stderr).toMatch(
      /^headroom: no permission to attach to pid \d+: it runs as uid 0, headroom as uid 65534: run headroom as the same user or as root \[E_NO_PERMISSION\]\n$/,
    );
    expect(result.status).toBe(1);
    expect(isAlive(target.pid)).toBe(true);
  }, 30_000);

  it('says a process of its own user is not dumpable, rather than to run as that user', async (context) => {
    if (process.getuid?.() !== 0) context.skip();
    // Node started as root and then turned into nobody: the kernel makes it not dumpable, so nobody's
    // headroom may not read its /proc/PID/exe though both run as uid 65534.
    const target = spawn(
      process.execPath,
      [
        '-e',
        'process.setgid(65534); process.setuid(65534); console.log("ready"); setInterval(() => {}, 1000)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    started.push(target);
    await new Promise((resolve) => target.stdout?.once('data', resolve));
    const child = spawn(process.execPath, [cliPath, 'attach', String(target.pid)], {
      cwd: os.tmpdir(),
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = await finish(child);
    expect(result.stderr).toMatch(/^headroom: no permission to attach to pid \d+: it is not dumpable \(/);
    expect(result.stderr).toMatch(
      /only a process with CAP_SYS_PTRACE may inspect it: run headroom as root \[E_NO_PERMISSION\]\n$/,
    );
    expect(result.stderr).not.toMatch(/same user/);
    expect(result.status).toBe(1);
    expect(isAlive(target.pid as number)).toBe(true);
  }, 30_000);

  it('blames a security module when root with CAP_SYS_PTRACE may not inspect a process', async (context) => {
    // Only where pid 1 is shielded from this root (a sandbox, as when headroom is developed here).
    const shielded = (() => {
      try {
        fs.readlinkSync('/proc/1/exe');
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EACCES';
      }
    })();
    const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    const ptrace = capEff !== undefined && ((BigInt(`0x${capEff}`) >> 19n) & 1n) === 1n;
    if (process.getuid?.() !== 0 || !ptrace || !shielded) context.skip();
    const result = await attachFails(['1'], /^headroom: no permission to attach to pid 1: /, 1);
    expect(result.stderr).toMatch(/headroom \(uid 0\) has CAP_SYS_PTRACE: a security module/);
    expect(result.stderr).not.toMatch(/same user or as root/);
  });
});

describe('the fetch budget of attach', () => {
  it('lets the forced GCs take 1 % of the time attached, plus 200 ms for a mid-run snapshot or two', () => {
    // A 70 MiB heap costs about 140 ms a fetch at first: one fits a short attach, after 1 s.
    expect(withinFetchBudget(0, 140, 1000)).toBe(true);
    expect(withinFetchBudget(140, 140, 2000)).toBe(false);
    // Ten seconds allow 300 ms in all, where 10 % allowed a second.
    expect(withinFetchBudget(250, 50, 10_000)).toBe(true);
    expect(withinFetchBudget(300, 50, 10_000)).toBe(false);
    expect(withinFetchBudget(900, 50, 10_000)).toBe(false);
    // An hour allows 36 s plus the allowance.
    expect(withinFetchBudget(36_000, 200, 3_600_000)).toBe(true);
    expect(withinFetchBudget(36_000, 201, 3_600_000)).toBe(false);
  });
});

describe('reading /proc for attach', () => {
  it('parses listening sockets with their addresses, IPv4 and IPv6', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:240D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 745848 1 0 100 0 0 10 0',
      '   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 648 1 0 100 0 0 10 0',
      '   2: 0100007F:240D 0100007F:A2B4 01 00000000:00000000 00:00000000 00000000     0        0 745900 1 0 20 4 30 10 -1',
    ].join('\n');
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9001 1 0 100 0 0 10 0',
      '   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9002 1 0 100 0 0 10 0',
    ].join('\n');
    const little = os.endianness() === 'LE';
    expect(parseListeningSockets(tcp, 4)).toEqual([
      { family: 4, address: little ? '127.0.0.1' : '1.0.0.127', port: 9229, inode: 745848 },
      { family: 4, address: '0.0.0.0', port: 2024, inode: 648 },
    ]);
    const v6 = parseListeningSockets(tcp6, 6);
    expect(v6.map((s) => [s.address, s.port, s.inode])).toEqual([
      [little ? '::1' : '::100:0', 8080, 9001],
      ['::', 80, 9002],
    ]);
  });

  it('reads which signals a process handles', () => {
    const status = parseProcessStatus(
      'Name:\tnode\nState:\tS (sleeping)\nTgid:\t41\nPid:\t41\nUid:\t1000\t1000\t1000\t1000\nSigCgt:\t0000000100004602\n',
      'status',
    );
    expect(status).toMatchObject({ name: 'node', state: 'S', tgid: 41, uid: 1000 });
    expect(catchesSignal(status, 10)).toBe(true); // SIGUSR1
    expect(catchesSignal(status, 12)).toBe(false); // SIGUSR2
    expect(catchesSignal(status, 33)).toBe(true);
    expect(() => parseProcessStatus('Name:\tx\n', 'status')).toThrow(/SigCgt/);
    const full = parseProcessStatus(
      'Tgid:\t7\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\nSigCgt:\t0\nCapPrm:\t0000000000080000\nCapEff:\t0\n',
      'status',
    );
    expect(full).toMatchObject({ uid: 1000, uids: [1000, 0, 0, 0], gids: [100, 100, 100, 100] });
    expect(hasCapability(full.permittedCaps, CAP_SYS_PTRACE)).toBe(true);
    expect(hasCapability(full.effectiveCaps, CAP_SYS_PTRACE)).toBe(false);
  });

  it('tells a live pid, also one it may not signal, from one that is gone', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(1)).toBe(true);
    const child = spawn('true');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(pidAlive(child.pid as number)).toBe(false);
  });

  it('knows the port SIGUSR1 opens the inspector on', () => {
    expect(inspectorPortOption(['app.js'])).toBe(9229);
    expect(inspectorPortOption(['--inspect-port=0', 'app.js'])).toBe(0);
    expect(inspectorPortOption(['--inspect-port', '9300'])).toBe(9300);
    expect(inspectorPortOption(['--inspect=0.0.0.0:9331'])).toBe(9331);
    expect(inspectorPortOption(['--inspect-brk=[::1]:9332'])).toBe(9332);
    expect(inspectorPortOption(['--inspect'])).toBe(9229);
  });
});
