import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type FixtureHost, MiB, v2Tree } from '../fixtures/cgroup-tree.js';
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
    fixture.write(`${scope}/cgroup.procs`, '4242\n');
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
    fixture.write(`${scope}/cgroup.procs`, '');
    const undelegated = JSON.parse((await runCli(['limits', '--json'], { cwd: scratch.dir, env })).stdout);
    expect(undelegated.available).toBe(false);
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
