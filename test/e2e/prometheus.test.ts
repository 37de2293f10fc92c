/**
 * End to end through Prometheus (Debian's package, installed by .ci/run): it scrapes headroom's exporter
 * on loopback while a job in its own cgroup has a worker OOM-killed, and PromQL finds the job's memory
 * series and its OOM-kill counter.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { finish, jobsDir, leftoverCgroups, scratchDir, sleep, startCli } from '../helpers/run-cli.js';

const PROMETHEUS = '/usr/bin/prometheus';
const children: ChildProcess[] = [];
const dirs: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) dir.cleanup();
});

async function query(
  port: number,
  promql: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    status: string;
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  expect(body.status).toBe('success');
  return body.data.result;
}

describe.skipIf(!fs.existsSync(PROMETHEUS))('Prometheus scraping headroom exporter', () => {
  it("finds an OOM-killed job's memory series and its OOM-kill counter through PromQL", async () => {
    const scratch = scratchDir();
    dirs.push(scratch);
    const exporterPort = await freePort();
    const exporter = startCli(
      ['exporter', '--listen', `127.0.0.1:${exporterPort}`, '--filter', 'headroom-\\d+-[0-9a-z]+-promtest$'],
      { cwd: scratch.dir },
    );
    children.push(exporter);
    const promPort = await freePort();
    const config = path.join(scratch.dir, 'prometheus.yml');
    fs.writeFileSync(
      config,
      `global:\n  scrape_interval: 500ms\nscrape_configs:\n  - job_name: headroom\n    static_configs:\n      - targets: ["127.0.0.1:${exporterPort}"]\n`,
    );
    const prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(scratch.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    children.push(prometheus);
    for (let i = 0; i < 60; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${promPort}/-/ready`)).ok) break;
      } catch {
        // not up yet
      }
      await sleep(250);
    }
    // Prometheus applies new targets every 5 s: the exporter must be scraped before the job starts.
    for (
      let i = 0;
      i < 60 && (await query(promPort, 'up{job="headroom"} == 1').catch(() => [])).length === 0;
      i++
    ) {
      await sleep(250);
    }
    // Three 80 MiB workers in 200 MiB: one is OOM-killed, the parent waits for the rest, so the job's
    // cgroup lives on for seconds with its OOM-kill counter at 1.
    const job = startCli(
      [
        'run',
        '--quiet',
        '--component',
        'promtest',
        '--memory',
        '200m',
        '--memory-swap',
        '200m',
        '--no-guard',
        '--',
        'python3',
        path.join(jobsDir, 'fork-workers.py'),
        '3',
        '80',
        '4',
      ],
      { cwd: scratch.dir },
    );
    await finish(job);
    let kills: Awaited<ReturnType<typeof query>> = [];
    for (let i = 0; i < 20 && kills.length === 0; i++) {
      kills = await query(
        promPort,
        'max_over_time(headroom_memory_oom_kills_total{component="promtest"}[5m]) > 0',
      );
      if (kills.length === 0) await sleep(500);
    }
    expect(kills).toHaveLength(1);
    expect(Number(kills[0]?.value[1])).toBeGreaterThanOrEqual(1);
    expect(kills[0]?.metric).toMatchObject({ job: 'headroom', kind: 'headroom', name: 'headroom promtest' });
    const anon = await query(promPort, 'max_over_time(headroom_memory_anon_bytes{component="promtest"}[5m])');
    expect(Number(anon[0]?.value[1])).toBeGreaterThan(100 * 1024 * 1024);
    const limit = await query(
      promPort,
      'max_over_time(headroom_memory_limit_bytes{component="promtest"}[5m])',
    );
    expect(Number(limit[0]?.value[1])).toBe(200 * 1024 * 1024);
    expect(await leftoverCgroups()).toEqual([]);
  });
});
