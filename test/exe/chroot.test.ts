// The single executable (dist/headroom-linux-x64) where there is no Node: chrooted into a Debian bookworm
// root with Python alone (build-chroot.sh), as in deploy/airflow/Dockerfile's image, on this host's
// memory cgroups. What Docker would do with the images, without Docker. The tests run in file order and
// share one sandbox: the last ones check what the runs before them left behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Summary } from '../../src/analyze/summarize.js';
import { parseDockerfile } from '../helpers/dockerfile.js';
import { freePort } from '../helpers/free-port.js';
import {
  type ChrootOptions,
  type ChrootResult,
  childCgroups,
  EXE_DIR,
  EXE_PATH,
  ensureRootfs,
  headroomCgroups,
  limitedCgroup,
  MEMORY_MOUNT,
  makeSandbox,
  ownMemoryCgroup,
  REPO_ROOT,
  requireTools,
  runInChroot,
  type Sandbox,
  startInChroot,
  until,
} from './chroot.mjs';

const MiB = 1024 * 1024;
const log = (message: string) => process.stderr.write(`chroot: ${message}\n`);

let sandbox: Sandbox | undefined;
/** HEADROOM_HOME of the Airflow image's run, where its preloads go. */
let airflowHome = '';
/** Every pid the tests started (headroom's own: each step to it execs), for the leftover check. */
const started = new Set<number>();

function box(): Sandbox {
  if (!sandbox) throw new Error('no sandbox: the setup failed');
  return sandbox;
}

/** The sandbox's cgroup as headroom names cgroups: its path inside the memory hierarchy. */
function hierarchyPath(dir: string): string {
  return `/${path.relative(MEMORY_MOUNT, dir)}`;
}

beforeAll(async () => {
  requireTools(['unshare', 'chroot']);
  if (!fs.existsSync(EXE_PATH)) {
    throw new Error(`${path.relative(REPO_ROOT, EXE_PATH)} is missing: run npm run build:exe first`);
  }
  ownMemoryCgroup();
  const start = Date.now();
  const rootfs = await ensureRootfs({ log });
  sandbox = makeSandbox({ rootfsDir: rootfs.dir, log });
  const bin = path.join(sandbox.root, 'usr/local/bin/headroom');
  fs.copyFileSync(EXE_PATH, bin);
  fs.chmodSync(bin, 0o755);
  fs.cpSync(path.join(EXE_DIR, 'jobs'), path.join(sandbox.root, 'job'), { recursive: true });
  log(
    `rootfs ${rootfs.built ? `built in ${Math.round(rootfs.ms / 1000)} s` : 'cached'}, ` +
      `sandbox (${sandbox.mode}) ready after ${((Date.now() - start) / 1000).toFixed(1)} s`,
  );
}, 30 * 60_000);

afterAll(async () => {
  if (!sandbox) return;
  const problems = await sandbox.cleanup();
  sandbox = undefined;
  expect(problems).toEqual([]);
}, 60_000);

async function inChroot(args: string[], options: ChrootOptions = {}): Promise<ChrootResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const result = await runInChroot(box(), args, { cwd: '/job', ...options, timeoutMs });
  started.add(result.pid);
  if (result.timedOut) {
    throw new Error(`${args.join(' ')} was killed at its ${timeoutMs / 1000} s deadline:\n${result.stderr}`);
  }
  return result;
}

const headroom = (args: string[], options: ChrootOptions = {}) => inChroot(['headroom', ...args], options);

async function summaryOf(capture: string): Promise<Summary> {
  const result = await headroom(['summary', '--json', capture]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Summary;
}

/** The job's cgroup was one headroom made below the cgroup the run was started in. */
function expectOwnCgroupBelow(summary: Summary, dir: string): void {
  expect(summary.cgroup.mode).toBe('own');
  expect(summary.cgroup.version).toBe(1);
  expect(summary.cgroup.path.startsWith(`${hierarchyPath(dir)}/headroom-`), summary.cgroup.path).toBe(true);
}

/** Paths (relative to `dir`) of the files and directories below it whose name matches. */
function findNamed(dir: string, name: RegExp): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (name.test(entry.name)) found.push(path.relative(dir, file));
      if (entry.isDirectory()) walk(file);
    }
  };
  walk(dir);
  return found;
}

function readChrootFile(file: string): string {
  return fs.readFileSync(path.join(box().root, file), 'utf8');
}

describe('the single executable in a Debian root without Node', () => {
  it('has no node to run, only headroom, an ELF executable', async () => {
    const probe = await inChroot(['sh', '-c', 'command -v node || command -v nodejs']);
    expect(probe.status).not.toBe(0);
    expect(probe.stdout).toBe('');
    // proc, sys and dev are empty here: they are mounted only in each command's own namespace.
    expect(findNamed(box().root, /^(node|nodejs|libnode.*)$/)).toEqual([]);
    const magic = Buffer.alloc(4);
    const fd = fs.openSync(path.join(box().root, 'usr/local/bin/headroom'), 'r');
    fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    expect(magic.toString('latin1')).toBe('\x7fELF');
    const version = await headroom(['--version']);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('names the OOM kill and its victim, python3 and its pid, and exits 137', async () => {
    // --no-guard: the default guard's RLIMIT_DATA would turn the growth into a MemoryError first.
    const run = await headroom([
      'run',
      '-o',
      '/job/oom.hrc',
      '--memory',
      '256m',
      '--no-guard',
      '--',
      'python3',
      'grow-until-killed.py',
    ]);
    expect(run.status, run.stderr).toBe(137);
    const named = /^ {2}OOM kills +\d+ — python3 \(pid (\d+)\)/m.exec(run.stderr);
    expect(named, run.stderr).not.toBeNull();
    expect(run.stderr).toMatch(/critical oom-kill: The OOM killer killed python3 \(\d+\)/);
    const summary = await summaryOf('/job/oom.hrc');
    expect(summary.oomKilled).toBe(true);
    expect(summary.signal).toBe('SIGKILL');
    expect(summary.limit.bytes).toBe(256 * MiB);
    expect(summary.oomKills[0]).toMatchObject({ name: 'python3', pid: Number(named?.[1]) });
    expectOwnCgroupBelow(summary, box().cgroup);
  });

  it('--profile names the function that allocated, in the summary and in headroom table', async () => {
    const run = await headroom([
      'run',
      '-o',
      '/job/profile.hrc',
      '--memory',
      '256m',
      '--profile',
      '--',
      'python3',
      'load-rows.py',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('loaded 300000 rows\n');
    expect(run.stderr).toMatch(/^ {2}top sites +load_rows \((?:\S+\/)?load-rows\.py:\d+\) /m);
    const table = await headroom(['table', '/job/profile.hrc']);
    expect(table.status, table.stderr).toBe(0);
    // The first site after the two header lines.
    expect(table.stdout.split('\n')[2]).toMatch(/ load_rows \((?:\S+\/)?load-rows\.py:\d+\) /);
  });

  it('--guard knobs: past the guard RLIMIT_DATA the job gets a MemoryError it can handle', async () => {
    const run = await headroom([
      'run',
      '-o',
      '/job/guard.hrc',
      '--memory',
      '256m',
      '--guard',
      'knobs',
      '--',
      'python3',
      'catch-memoryerror.py',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^caught MemoryError after \d+ MiB\n$/);
    expect(run.stderr).toMatch(/^headroom: guard: .*Python RLIMIT_DATA 224 MiB/m);
    const summary = await summaryOf('/job/guard.hrc');
    expect(summary.oomKilled).toBe(false);
    expect(summary.exitCode).toBe(0);
    expect(summary.guard.knobs.map((knob) => knob.runtime)).toContain('python');
    expectOwnCgroupBelow(summary, box().cgroup);
  });

  it('--report writes one self-contained HTML file naming the job', async () => {
    const run = await headroom([
      'run',
      '-q',
      '-o',
      '/job/report.hrc',
      '--memory',
      '256m',
      '--report',
      '/job/out.html',
      '--',
      'python3',
      'load-rows.py',
      '100000',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const html = readChrootFile('job/out.html');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('load-rows.py');
    expect(html).toContain('uPlot');
    // Nothing fetched: no script, stylesheet or image from elsewhere.
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link[^>]*\shref=/i);
    expect(html).not.toMatch(/<img[^>]*\ssrc=["']?(?!data:)/i);
  });

  it('limits names the limit of the cgroup it runs in and how a job gets a cgroup there', async () => {
    const cgroup = limitedCgroup(box(), 'limits', 300 * MiB);
    const text = await headroom(['limits'], { cgroup });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^memory limit 300 MiB/m);
    expect(text.stdout).toMatch(/^cgroup +v1 /m);
    expect(text.stdout).toMatch(/headroom run makes a child cgroup per job/);
    const json = await headroom(['limits', '--json'], { cgroup });
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      available: true,
      cgroup: { version: 1 },
      limit: { bytes: 300 * MiB },
    });
  });

  it("runs deploy/airflow/Dockerfile's ENTRYPOINT and CMD on its task, as docker run --memory would", async () => {
    const docker = parseDockerfile(
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/airflow/Dockerfile'), 'utf8'),
    );
    const image = docker.stages.at(-1);
    if (!image) throw new Error('deploy/airflow/Dockerfile has no stage');
    expect(image.entrypoint?.slice(0, 2)).toEqual(['headroom', 'run']);
    for (const copy of image.copies) {
      if (copy.from) continue;
      const target = path.join(box().root, path.resolve(image.workdir ?? '/', copy.dest));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(path.join(REPO_ROOT, copy.source), target);
    }
    // The python image's `python`; Debian's is python3 alone.
    fs.symlinkSync('/usr/bin/python3', path.join(box().root, 'usr/local/bin/python'));
    const memory = /docker run --memory (\d+)([mg])\b/.exec(docker.comments);
    if (!memory)
      throw new Error('deploy/airflow/Dockerfile no longer says which docker run --memory it runs with');
    const bytes = Number(memory[1]) * (memory[2] === 'g' ? 1024 : 1) * MiB;
    airflowHome = image.env.HEADROOM_HOME ?? '';
    expect(airflowHome).not.toBe('');
    const cgroup = limitedCgroup(box(), 'airflow', bytes);
    const run = await inChroot([...(image.entrypoint ?? []), ...(image.cmd ?? [])], {
      env: image.env,
      cwd: image.workdir ?? '/',
      cgroup,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('wrote 300000 rows\n');
    expect(run.stderr).toMatch(/^headroom: guard: /m);
    const flags = image.entrypoint ?? [];
    const report = flags[flags.indexOf('--report') + 1] ?? '';
    expect(report).not.toBe('');
    expect(readChrootFile(report)).toContain('task.py');
    const capture = /^ {2}capture +(\S+)$/m.exec(run.stderr)?.[1];
    expect(capture, run.stderr).toBeDefined();
    const summary = await summaryOf(path.resolve(image.workdir ?? '/', capture ?? ''));
    expect(summary.component).toBe(flags[flags.indexOf('--component') + 1]);
    expect(summary.limit.bytes).toBe(bytes);
    expect(summary.oomKilled).toBe(false);
    expectOwnCgroupBelow(summary, cgroup);
  });

  it("runs the exporter as deploy/kubernetes/daemonset.yaml does: read-only root, the host's cgroups read-only", async () => {
    const image = parseDockerfile(
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8'),
    ).stages.at(-1);
    const daemonset = parse(
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/kubernetes/daemonset.yaml'), 'utf8'),
    );
    const container = daemonset.spec.template.spec.containers[0];
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'cgroup');
    const port = await freePort();
    // Loopback on a free port for the pod's 0.0.0.0:9464; on cgroup v1 the memory hierarchy, as the
    // DaemonSet's comment says.
    const args = (container.args as string[]).map((arg) =>
      arg.startsWith('--listen=')
        ? `--listen=127.0.0.1:${port}`
        : arg === `--cgroup-root=${mount.mountPath}`
          ? `--cgroup-root=${mount.mountPath}/memory`
          : arg,
    );
    // Every volume the DaemonSet mounts: the host's cgroups, and for the others (the post-mortems'
    // hostPath, the kubelet's log directories) a directory of the test's own.
    const volumes = fs.mkdtempSync(path.join(os.tmpdir(), 'hrexe-pod-volumes-'));
    const binds = (
      container.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>
    ).map((volume) => {
      const source = volume.name === 'cgroup' ? '/sys/fs/cgroup' : path.join(volumes, volume.name);
      fs.mkdirSync(source, { recursive: true });
      return { source, target: volume.mountPath, readOnly: volume.readOnly === true };
    });
    const pod: ChrootOptions = {
      cwd: '/',
      readOnly: container.securityContext.readOnlyRootFilesystem === true,
      binds,
      timeoutMs: 60_000,
    };
    // The pod as the DaemonSet declares it: neither the root nor the host's cgroups can be written.
    const cgroupProbe = `${mount.mountPath}/memory/hrexe-probe-${process.pid}`;
    const probe = await inChroot(
      [
        'sh',
        '-c',
        `touch /probe && echo root writable; mkdir ${cgroupProbe} && rmdir ${cgroupProbe} && echo cgroups writable; true`,
      ],
      pod,
    );
    expect(probe.stdout).toBe('');
    expect(probe.stderr).toMatch(/Read-only file system[\s\S]*Read-only file system/);
    const exporter = startInChroot(box(), [...(image?.entrypoint ?? []), ...args], pod);
    started.add(exporter.pid);
    try {
      let metrics = '';
      const answered = await until(20_000, async () => {
        try {
          metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return true;
        } catch {
          return false;
        }
      });
      expect(answered, `no metrics within 20 s: ${JSON.stringify(exporter.output())}`).toBe(true);
      expect(metrics).toMatch(/^headroom_memory_usage_bytes\{/m);
      expect(metrics).toMatch(/^headroom_exporter_cgroups \d+/m);
      // The flight recorder runs too, writing to the post-mortems' volume and listing what is there.
      expect(metrics).toMatch(/^headroom_recorder_cgroups [1-9]\d*$/m);
      const listing = await fetch(`http://127.0.0.1:${port}/postmortems`);
      expect(listing.status).toBe(200);
      expect(await listing.json()).toEqual([]);
    } finally {
      exporter.kill('SIGTERM');
    }
    const end = await exporter.done;
    expect(end.timedOut).toBe(false);
    fs.rmSync(volumes, { recursive: true, force: true });
  });

  it('extracted its preloads into a private directory of its own, and left nothing in /tmp', () => {
    const preload = fs.readFileSync(path.join(REPO_ROOT, 'preload/python/sitecustomize.py'));
    const written = box().written;
    const copies = findNamed(written, /^sitecustomize\.py$/)
      .filter((file) => fs.readFileSync(path.join(written, file)).equals(preload))
      .map((file) => `/${file}`);
    // One copy per base the runs' environments gave it: HOME's cache for the runs without HEADROOM_HOME
    // (and no XDG_RUNTIME_DIR), the Airflow image's HEADROOM_HOME for its run.
    const bases = ['/root/.cache', airflowHome];
    const baseOf = (file: string) => bases.find((b) => file.startsWith(`${b}/`));
    expect(copies.map(baseOf).sort(), copies.join(' ')).toEqual([...bases].sort());
    for (const file of copies) {
      const base = baseOf(file);
      for (let dir = path.dirname(file); dir !== base && dir !== '/'; dir = path.dirname(dir)) {
        const stat = fs.statSync(path.join(box().root, dir));
        expect({ dir, mode: (stat.mode & 0o777).toString(8), uid: stat.uid }).toEqual({
          dir,
          mode: '700',
          uid: 0,
        });
      }
      expect(fs.statSync(path.join(box().root, file)).mode & 0o022).toBe(0);
    }
    // The Airflow task's own output is the only thing allowed there.
    expect(fs.readdirSync(path.join(box().root, 'tmp')).filter((name) => name !== 'out.csv')).toEqual([]);
  });

  it("left no cgroup of headroom's, here or anywhere in the memory hierarchy", async () => {
    const gone = await until(10_000, () => headroomCgroups(box().cgroup).length === 0);
    expect(gone, headroomCgroups(box().cgroup).join(' ')).toBe(true);
    const names = [...started].map((pid) => `headroom-${pid}-`);
    const elsewhere = childCgroups(MEMORY_MOUNT).filter((dir) =>
      names.some((name) => path.basename(dir).startsWith(name)),
    );
    expect(elsewhere).toEqual([]);
  });
});
