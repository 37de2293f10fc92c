import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { locateMemoryCgroup } from '../src/kernel/index.js';
import { CgroupMetrics } from '../src/serve/cgroup-metrics.js';
import { repoRoot } from './helpers/run-cli.js';

const deploy = path.join(repoRoot, 'deploy');
const read = (file: string) => fs.readFileSync(path.join(deploy, file), 'utf8');

/** The metric names the exporter registers. */
function exportedNames(): Set<string> {
  const located = locateMemoryCgroup('self');
  if (!located.ok) throw new Error(located.reason);
  const metrics = new CgroupMetrics({ top: located.cgroup, maxCount: 1 });
  return new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name));
}

function namesUsedIn(text: string): string[] {
  return [...new Set(text.match(/headroom_[a-z_]+/g) ?? [])];
}

describe('deploy/', () => {
  it('the Grafana dashboard parses and queries only metrics the exporter has', () => {
    const dashboard = JSON.parse(read('grafana/headroom-dashboard.json')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.panels.map((panel) => panel.title)).toEqual(
      expect.arrayContaining([
        'What memory is made of',
        'OOM kills',
        'Headroom left',
        'Forecast: time until the limit at the current trend',
      ]),
    );
    const used = namesUsedIn(JSON.stringify(dashboard));
    expect(used.length).toBeGreaterThan(8);
    const exported = exportedNames();
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('the DaemonSet and the Prometheus config parse, and agree on the port and the arguments', () => {
    const daemonset = parse(read('kubernetes/daemonset.yaml'));
    expect(daemonset.kind).toBe('DaemonSet');
    const container = daemonset.spec.template.spec.containers[0];
    expect(container.args[0]).toBe('exporter');
    expect(container.args).toContain('--listen=0.0.0.0:9464');
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'cgroup');
    expect(mount).toMatchObject({ mountPath: '/host/sys/fs/cgroup', readOnly: true });
    expect(container.args).toContain(`--cgroup-root=${mount.mountPath}`);
    const prometheus = parse(read('prometheus.yml'));
    const jobs = prometheus.scrape_configs.map((job: { job_name: string }) => job.job_name);
    expect(jobs).toEqual(['headroom', 'headroom-daemonset']);
    expect(JSON.stringify(prometheus)).toContain('9464');
  });

  it('the Dockerfiles copy paths that exist and run commands headroom has', () => {
    for (const file of ['Dockerfile', 'airflow/Dockerfile']) {
      const text = read(file);
      for (const [, source] of text.matchAll(/^COPY (?!--from)(\S+)/gm)) {
        for (const part of (source ?? '').split(' '))
          expect(fs.existsSync(path.join(repoRoot, part)), `${file}: ${part}`).toBe(true);
      }
      for (const [, command] of text.matchAll(/"headroom", "([a-z]+)"/g))
        expect(['run', 'exporter', 'supervise', 'top']).toContain(command);
    }
    expect(read('Dockerfile')).toMatch(/CMD \["exporter", "--listen", "0\.0\.0\.0:9464"\]/);
  });
});
