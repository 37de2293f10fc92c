import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  FIXTURE_PID,
  type FixtureHost,
  MiB,
  meminfo,
  v1Tree,
  v2Tree,
  vmstat,
} from '../fixtures/cgroup-tree.js';
import { runCli, scratchDir } from '../helpers/run-cli.js';

let fixture: FixtureHost | undefined;
const scratch = scratchDir();
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});
afterAll(() => scratch.cleanup());

describe('headroom limits', () => {
  it('on this machine: cgroup v1, its usage and the runtimes beside it', async () => {
    const result = await runCli(['limits', '--json'], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.available).toBe(true);
    expect(report.cgroup.version).toBe(1);
    expect(report.usage.usage).toBeGreaterThan(0);
    expect(report.host.total).toBeGreaterThan(report.usage.usage);
    expect(report.runtimes.nodeHeapLimit).toBeGreaterThan(16 * MiB);
    const text = await runCli(['limits'], { cwd: scratch.dir });
    expect(text.stdout).toMatch(/^memory limit/);
    expect(text.stdout).toMatch(/node heap/);
  });

  it('inside a read-only v2 container whose parent sets the lower limit', async () => {
    fixture = v2Tree(
      {
        '/kubepods/pod1': { 'memory.max': String(256 * MiB) },
        '/kubepods/pod1/c1': {
          'memory.max': String(512 * MiB),
          'memory.current': String(200 * MiB),
          'memory.events': { oom_kill: 2, max: 17 },
        },
      },
      { self: '/kubepods/pod1/c1', readOnly: true },
    );
    const env = { HEADROOM_SYSROOT: fixture.root };
    const json = JSON.parse((await runCli(['limits', '--json'], { cwd: scratch.dir, env })).stdout);
    expect(json.limit.bytes).toBe(256 * MiB);
    expect(json.limit.source).toMatchObject({
      path: '/kubepods/pod1',
      depth: 1,
      file: 'memory.max',
      version: 2,
    });
    expect(json.usage.oomKills).toBe(2);
    expect(json.usage.limitHits).toBe(17);
    expect(json.cgroup.readOnly).toBe(true);
    const text = await runCli(['limits'], { cwd: scratch.dir, env });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/memory limit 256 MiB/);
    expect(text.stdout).toMatch(/from\s+memory\.max of \/kubepods\/pod1 \(parent, cgroup v2\)/);
    expect(text.stdout).toMatch(/2 OOM kills, 17 limit hits/);
    expect(text.stdout).toMatch(/jobs\s+headroom run observes this cgroup \(--memory cannot be applied\)/);
    expect(text.stdout).toMatch(/mounted read-only/);
    expect(json.jobCgroup.how).toBe('none');
    expect(text.stdout).toMatch(/node heap .* above the cgroup limit/);
  });

  it('in a writable v2 cgroup: a leaf beside the jobs when it holds processes, a plain child when not', async () => {
    fixture = v2Tree(
      { '/system.slice/run-hr.scope': { 'memory.max': 'max' } },
      { self: '/system.slice/run-hr.scope' },
    );
    const scope = '/sys/fs/cgroup/system.slice/run-hr.scope';
    fixture.write(`${scope}/cgroup.procs`, `${FIXTURE_PID}\n4242\n`);
    const env = { HEADROOM_SYSROOT: fixture.root };
    const busy = JSON.parse((await runCli(['limits', '--json'], { cwd: scratch.dir, env })).stdout);
    expect(busy.jobCgroup.how).toBe('beside-leaf');
    const text = await runCli(['limits'], { cwd: scratch.dir, env });
    expect(text.stdout).toMatch(/moves this cgroup's processes into a leaf/);
    expect(text.stdout).not.toMatch(/makes a child cgroup per job/);

    fixture.write(`${scope}/cgroup.subtree_control`, 'memory\n');
    const delegated = JSON.parse((await runCli(['limits', '--json'], { cwd: scratch.dir, env })).stdout);
    expect(delegated.jobCgroup.how).toBe('child');

    fixture.write(`${scope}/cgroup.subtree_control`, '');
    fixture.write(`${scope}/cgroup.controllers`, 'cpu pids\n');
    fixture.write(`${scope}/cgroup.procs`, `${FIXTURE_PID}\n`);
    const undelegated = JSON.parse((await runCli(['limits', '--json'], { cwd: scratch.dir, env })).stdout);
    expect(undelegated.available).toBe(false);
  });

  it("from headroom's own leaf (a shell an earlier run moved there): jobs go beside the leaf", async () => {
    const leaf = '/system.slice/run-hr.scope/headroom-supervisor';
    fixture = v2Tree({ [leaf]: { 'memory.max': 'max' } }, { self: leaf });
    const env = { HEADROOM_SYSROOT: fixture.root };
    const json = JSON.parse((await runCli(['limits', '--json'], { cwd: scratch.dir, env })).stdout);
    expect(json.jobCgroup).toEqual({
      how: 'beside-leaf',
      reason: "this is headroom's leaf (headroom-supervisor): each job's cgroup goes beside it",
    });
  });

  it("in a private cgroup namespace that keeps the host's v2 cgroupfs (mount root /../..), the namespace root's limit", async () => {
    fixture = v2Tree(
      {
        '/system.slice/docker-abc.scope': {
          'memory.max': String(300 * MiB),
          'memory.current': String(40 * MiB),
        },
        '/system.slice/docker-def.scope': { 'memory.max': String(100 * MiB), 'cgroup.procs': '812\n' },
      },
      { self: '/', namespaceRoot: '/system.slice/docker-abc.scope' },
    );
    const env = { HEADROOM_SYSROOT: fixture.root };
    const text = await runCli(['limits'], { cwd: scratch.dir, env });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^memory limit 300 MiB\n/);
    expect(text.stdout).toMatch(
      /from\s+memory\.max of \/system\.slice\/docker-abc\.scope \(this cgroup, cgroup v2\)/,
    );
    expect(text.stdout).toMatch(/usage\s+40\.0 MiB/);
    expect(text.stdout).not.toMatch(/ancestors above/);
  });

  it("at the v2 root (no memory.current, memory.max or memory.events): the machine's figures, no limit", async () => {
    fixture = v2Tree({}, { self: '/' });
    fixture.write('/proc/meminfo', meminfo({ MemTotal: 16_777_216, MemFree: 4_194_304 }));
    fixture.write('/proc/vmstat', vmstat({ oom_kill: 3 }));
    const env = { HEADROOM_SYSROOT: fixture.root };
    const json = await runCli(['limits', '--json'], { cwd: scratch.dir, env });
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.cgroup).toMatchObject({ version: 2, path: '/', ancestorsHidden: false });
    expect(report.limit.bytes).toBeNull();
    expect(report.usage).toMatchObject({ usage: 12 * 1024 * MiB, limit: null, oomKills: 3, peak: null });
    const text = await runCli(['limits'], { cwd: scratch.dir, env });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /^memory limit none \(the root cgroup: the host's 16\.0 GiB of RAM is the ceiling\)\n/,
    );
    expect(text.stdout).toMatch(/usage\s+12\.0 GiB\n/);
    expect(text.stdout).toMatch(/3 OOM kills, 0 limit hits/);
  });

  it('at the v1 root (memory.usage_in_bytes there, the unlimited limit_in_bytes): usage, no limit', async () => {
    fixture = v1Tree({ '/': { 'memory.usage_in_bytes': String(5 * 1024 * MiB) } }, { self: '/' });
    const env = { HEADROOM_SYSROOT: fixture.root };
    const text = await runCli(['limits'], { cwd: scratch.dir, env });
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /^memory limit none \(the root cgroup: the host's .* of RAM is the ceiling\)\n/,
    );
    expect(text.stdout).toMatch(/usage\s+5\.00 GiB\n/);
    expect(text.stdout).not.toMatch(/ancestors above/);
  });

  it('says so, with exit status 1, when no cgroup lists headroom', async () => {
    fixture = v2Tree({ '/c1': { 'cgroup.procs': '' } }, { self: '/', namespaceRoot: '/c1' });
    const result = await runCli(['limits'], { cwd: scratch.dir, env: { HEADROOM_SYSROOT: fixture.root } });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /^memory limit unknown: cannot find the memory cgroup of headroom \(pid \d+\): no cgroup 1 level below/,
    );
  });

  it('says so, with exit status 1, when there is no memory controller', async () => {
    fixture = v2Tree({ '/c1': {} }, { self: '/c1' });
    fixture.write('/sys/fs/cgroup/c1/cgroup.controllers', 'cpu io pids\n');
    const result = await runCli(['limits'], { cwd: scratch.dir, env: { HEADROOM_SYSROOT: fixture.root } });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/memory limit unknown: no memory cgroup controller is mounted/);
    expect(result.stdout).toMatch(/host memory/);
  });
});
