import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { locateMemoryCgroup } from '../src/kernel/index.js';
import { CgroupMetrics } from '../src/serve/cgroup-metrics.js';
import { FlightRecorder } from '../src/serve/flight-recorder.js';
import { PostmortemStore } from '../src/serve/postmortem-store.js';
import { registerRecorderMetrics } from '../src/serve/recorder-metrics.js';
import { parseDockerfile } from './helpers/dockerfile.js';
import { repoRoot } from './helpers/run-cli.js';

const deploy = path.join(repoRoot, 'deploy');
const read = (file: string) => fs.readFileSync(path.join(deploy, file), 'utf8');

/** The metric names the exporter registers, with --postmortems. */
function exportedNames(): Set<string> {
  const located = locateMemoryCgroup('self');
  if (!located.ok) throw new Error(located.message);
  const metrics = new CgroupMetrics({ top: located.cgroup, maxCount: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-deploy-'));
  try {
    const store = new PostmortemStore({ dir });
    registerRecorderMetrics(
      metrics.registry,
      new FlightRecorder({ top: located.cgroup, host: { root: '/' }, store }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name));
}

function namesUsedIn(text: string): string[] {
  return [...new Set(text.match(/headroom_[a-z_]+/g) ?? [])];
}

describe('deploy/', () => {
  it('the Grafana dashboard parses and queries only metrics the exporter has', () => {
    const dashboard = JSON.parse(read('grafana/headroom-dashboard.json')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
      annotations: { list: Array<{ name: string; expr: string }> };
    };
    // A mark on every chart where a post-mortem was written.
    expect(dashboard.annotations.list.find((a) => a.name === 'Post-mortems')?.expr).toContain(
      'headroom_postmortems_total',
    );
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
    // The flight recorder: the host's processes, a directory on the node, the kubelet's log names.
    expect(daemonset.spec.template.spec.hostPID).toBe(true);
    const mounts = new Map(
      container.volumeMounts.map((m: { name: string; mountPath: string; readOnly?: boolean }) => [
        m.mountPath,
        m,
      ]),
    );
    const dir = /^--postmortems=(.+)$/.exec(
      container.args.find((a: string) => a.startsWith('--postmortems=')),
    )?.[1];
    expect(mounts.get(dir)).toMatchObject({ name: 'postmortems' });
    expect(mounts.get(dir)).not.toHaveProperty('readOnly', true);
    for (const logs of ['/var/log/pods', '/var/log/containers'])
      expect(mounts.get(logs), logs).toMatchObject({ readOnly: true });
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

  it('deploy/Dockerfile builds the single executable and ships it alone (bin) and on Debian (the default)', () => {
    const text = read('Dockerfile');
    const { stages } = parseDockerfile(text);
    const build = stages.find((stage) => stage.name === 'build');
    expect(build?.from).toMatch(/^node:20-bookworm-slim$/);
    expect(build?.runs.some((run) => /^npm ci\b/.test(run))).toBe(true);
    expect(build?.runs.some((run) => /\bnpm run build:exe\b/.test(run))).toBe(true);
    const bin = stages.find((stage) => stage.name === 'bin');
    expect(bin?.from).toBe('scratch');
    expect(bin?.copies.map((copy) => copy.dest)).toEqual(['/usr/local/bin/headroom']);
    // The default target is the last stage: the one the DaemonSet runs, with glibc for the executable.
    const runnable = stages.at(-1);
    expect(runnable?.from).toMatch(/^debian:bookworm/);
    expect(runnable?.copies).toContainEqual(
      expect.objectContaining({
        from: 'bin',
        source: '/usr/local/bin/headroom',
        dest: '/usr/local/bin/headroom',
      }),
    );
    expect(runnable?.entrypoint).toEqual(['headroom']);
    expect(runnable?.cmd?.[0]).toBe('exporter');
    // No Node where headroom runs: only the build stage may come from a node image.
    for (const stage of stages.filter((s) => s !== build)) expect(stage.from).not.toMatch(/^node\b/);
    // The documented tags: the DaemonSet's image is the default target's, the Airflow image's ARG the bin one's.
    const defaultTag = /docker build -f deploy\/Dockerfile -t (\S+) \./.exec(text)?.[1];
    const binTag = /docker build -f deploy\/Dockerfile --target bin -t (\S+) \./.exec(text)?.[1];
    const daemonset = parse(read('kubernetes/daemonset.yaml'));
    expect(daemonset.spec.template.spec.containers[0].image.split(':')[0]).toBe(defaultTag);
    expect(parseDockerfile(read('airflow/Dockerfile')).args.HEADROOM_IMAGE).toBe(binTag);
  });

  it('the Airflow image has no Node: it takes headroom with one COPY from the bin image', () => {
    const text = read('airflow/Dockerfile');
    expect(text).not.toMatch(/\bnodejs\b|\bnpm\b|\bnpx\b/);
    const dockerfile = parseDockerfile(text);
    const image = dockerfile.stages.at(-1);
    expect(image?.from).toBe('python:3.11-slim-bookworm');
    expect(image?.runs.join('\n')).not.toMatch(/apt-get install[^\n]*\bnode/);
    expect(text).toMatch(/^COPY --from=\S+ \/usr\/local\/bin\/headroom \/usr\/local\/bin\/headroom$/m);
    const copy = image?.copies.find((c) => c.dest === '/usr/local/bin/headroom');
    // --from names a stage whose image is the build ARG, so that a locally tagged image can be given.
    const from = dockerfile.stages.find((stage) => stage.name === copy?.from);
    expect(from?.from).toMatch(/^\$\{?HEADROOM_IMAGE\}?$/);
    expect(dockerfile.args.HEADROOM_IMAGE).toBeDefined();
    expect(image?.entrypoint?.slice(0, 2)).toEqual(['headroom', 'run']);
    expect(image?.entrypoint?.at(-1)).toBe('--');
    expect(image?.cmd).toEqual(['python', '/app/task.py']);
  });

  it("an npm install or npx in deploy/ names the package's own name", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      name: string;
    };
    expect(manifest.name).toBe('headroom-cli');
    for (const file of ['Dockerfile', 'airflow/Dockerfile']) {
      for (const [, words] of read(file).matchAll(/\b(?:npm (?:install|i|add)|npx)\b([^\n&;|]*)/g)) {
        // Flags apart, with no package named it installs from the lockfile (npm install), which is fine.
        const names = (words ?? '').split(/\s+/).filter((word) => word && !word.startsWith('-'));
        for (const name of names) expect(`${file}: ${name}`).toBe(`${file}: ${manifest.name}`);
      }
    }
  });
});
