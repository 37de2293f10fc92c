import { afterEach, describe, expect, it } from 'vitest';
import { locateMemoryCgroup } from '../../src/kernel/index.js';
import { CgroupMetrics } from '../../src/serve/cgroup-metrics.js';
import { type Exporter, startExporter } from '../../src/serve/exporter.js';
import { type FixtureHost, MiB, v2Tree } from '../fixtures/cgroup-tree.js';

let fixture: FixtureHost | undefined;
let exporter: Exporter | undefined;
afterEach(async () => {
  await exporter?.close();
  exporter = undefined;
  fixture?.cleanup();
  fixture = undefined;
});

describe('startExporter', () => {
  it('answers a failed scrape with 500 and the next one normally; other paths with 404', async () => {
    fixture = v2Tree({ '/job': { 'memory.current': 5 * MiB } }, { self: '/' });
    const located = locateMemoryCgroup('self', fixture.host);
    if (!located.ok) throw new Error(located.message);
    const metrics = new CgroupMetrics({ top: located.cgroup });
    const refresh = metrics.refresh.bind(metrics);
    let failures = 1;
    metrics.refresh = () => {
      if (failures-- > 0) throw new Error('cgroup tree unreadable');
      refresh();
    };
    let after = 0;
    exporter = await startExporter(metrics, '127.0.0.1', 0, () => {
      after++;
    });
    const url = `http://127.0.0.1:${exporter.address.port}`;
    const failed = await fetch(`${url}/metrics`);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toMatch(/^scrape failed: Error: cgroup tree unreadable/);
    const ok = await fetch(`${url}/metrics`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^headroom_memory_usage_bytes\{cgroup="\/job",[^}]*\} 5242880$/m);
    expect(after).toBe(1);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
