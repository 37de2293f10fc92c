import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { locateMemoryCgroup, type MemoryCgroup } from '../../src/kernel/index.js';
import { CgroupMetrics } from '../../src/serve/cgroup-metrics.js';
import { type FixtureHost, MiB, v2Stat, v2Tree } from '../fixtures/cgroup-tree.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

const id = '3f2a1b9c0d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd';
const uid = '1f2e3d4c-5b6a-4789-8abc-def012345678';

function host(): MemoryCgroup {
  fixture = v2Tree(
    {
      [`/kubepods/burstable/pod${uid}/${id}`]: {
        'memory.max': 512 * MiB,
        'memory.current': 300 * MiB,
        'memory.stat': {
          ...v2Stat(),
          anon: 200 * MiB,
          file: 90 * MiB,
          inactive_file: 60 * MiB,
          file_dirty: 8 * MiB,
          shmem: 4 * MiB,
        },
        'memory.events': { low: 0, high: 0, max: 7, oom: 1, oom_kill: 2, oom_group_kill: 0 },
      },
      '/a "quoted" \\ name': { 'memory.current': 1 * MiB },
      '/new\nline<script>': { 'memory.current': 2 * MiB },
    },
    { self: '/' },
  );
  const located = locateMemoryCgroup('self', fixture.host);
  if (!located.ok) throw new Error(located.message);
  return located.cgroup;
}

describe('CgroupMetrics on a cgroup v2 host (fixture tree)', () => {
  it('exports each cgroup with its breakdown, counters and a readable name, in base units', async () => {
    const metrics = new CgroupMetrics({ top: host() });
    metrics.refresh();
    const text = await metrics.registry.metrics();
    const container = `cgroup="/kubepods/burstable/pod${uid}/${id}",name="pod 1f2e3d4c container 3f2a1b9c0d4e",kind="kubernetes",component=""`;
    expect(text).toContain(`headroom_memory_limit_bytes{${container}} ${512 * MiB}`);
    expect(text).toContain(`headroom_memory_usage_bytes{${container}} ${300 * MiB}`);
    expect(text).toContain(`headroom_memory_working_set_bytes{${container}} ${240 * MiB}`);
    expect(text).toContain(`headroom_memory_anon_bytes{${container}} ${200 * MiB}`);
    expect(text).toContain(`headroom_memory_file_dirty_bytes{${container}} ${8 * MiB}`);
    expect(text).toContain(`headroom_memory_oom_kills_total{${container}} 2`);
    expect(text).toContain(`headroom_memory_limit_hits_total{${container}} 7`);
    expect(text).toContain('# TYPE headroom_memory_oom_kills_total counter');
    expect(text).toMatch(/^headroom_exporter_cgroups \d+$/m);
  });

  it('escapes hostile cgroup names in label values', async () => {
    const metrics = new CgroupMetrics({ top: host() });
    metrics.refresh();
    const text = await metrics.registry.metrics();
    expect(text).toContain('headroom_memory_usage_bytes{cgroup="/a \\"quoted\\" \\\\ name"');
    expect(text).toContain('headroom_memory_usage_bytes{cgroup="/new\\nline<script>"');
    // Every sample is one line: no raw newline inside a label.
    for (const line of text.split('\n')) expect(line).toMatch(/^(#.*|[a-z_]+(\{.*\})? [-\d.e+]+(NaN)?|)$/);
  });

  it('tells the seconds until the limit from the trend across scrapes, and drops cgroups that are gone', async () => {
    let now = 0;
    const top = host();
    const metrics = new CgroupMetrics({ top, now: () => now, filter: /kubepods\/burstable\/pod/ });
    const file = `/sys/fs/cgroup/kubepods/burstable/pod${uid}/${id}/memory.current`;
    for (const current of [300, 310, 320]) {
      fixture?.write(file, current * MiB);
      metrics.refresh();
      now += 10_000;
    }
    const text = await metrics.registry.metrics();
    // 1 MiB/s; at 320 MiB usage and 60 MiB inactive cache the working set is 260 MiB: 252 s to 512 MiB.
    expect(text).toMatch(/headroom_memory_seconds_until_limit\{[^}]*kind="kubernetes"[^}]*\} 252$/m);
    expect(text).not.toContain('quoted');
    // The container's cgroup goes away, as when it stops.
    fs.rmSync(fixture?.at(path.posix.dirname(file)) ?? '', { recursive: true });
    metrics.refresh();
    const after = await metrics.registry.metrics();
    expect(after).not.toContain('container 3f2a1b9c0d4e');
    // Its pod's cgroup is still there.
    expect(after).toContain('name="pod 1f2e3d4c"');
  });
});
