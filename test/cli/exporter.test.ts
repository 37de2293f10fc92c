import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { finish, jobsDir, runCli, sleep, startCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

describe('headroom exporter (real cgroup v1)', () => {
  it("exports a running job's cgroup, labelled with its component, and its limit", async () => {
    const job = startCli(
      [
        'run',
        '--quiet',
        '--component',
        'etl_nightly',
        '--memory',
        '128m',
        '--',
        'node',
        path.join(jobsDir, 'allocate.mjs'),
        '48',
        '16',
        '4000',
      ],
      { cwd: scratch.dir },
    );
    const exporter = startCli(
      ['exporter', '--listen', '127.0.0.1:0', '--filter', 'headroom-\\d+-[0-9a-z]+-etl_nightly$'],
      {
        cwd: scratch.dir,
      },
    );
    // The exporter says where it listens; port 0 lets the kernel pick one.
    const port = await new Promise<number>((resolve) => {
      exporter.stderr?.on('data', (chunk: Buffer) => {
        const match = /127\.0\.0\.1:(\d+)\/metrics/.exec(chunk.toString());
        if (match) resolve(Number(match[1]));
      });
    });
    const anonOf = (metrics: string) =>
      Number(/^headroom_memory_anon_bytes\{[^}]*component="etl_nightly"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    let text = '';
    // Until the job has allocated its 48 MiB.
    for (let attempt = 0; attempt < 50 && anonOf(text) < 40 * 1024 * 1024; attempt++) {
      await sleep(100);
      text = await scrape(port);
    }
    expect(text).toMatch(
      /^headroom_memory_limit_bytes\{cgroup="[^"]+",name="headroom etl_nightly",kind="headroom",component="etl_nightly"\} 134217728$/m,
    );
    expect(anonOf(text)).toBeGreaterThan(40 * 1024 * 1024);
    expect(text).toMatch(/^headroom_exporter_cgroups 1$/m);
    exporter.kill('SIGTERM');
    const stopped = await finish(exporter);
    expect(stopped.status).toBe(0);
    await finish(job);
  });

  it('refuses a bad --listen and an unusable --filter with one line', async () => {
    const listen = await runCli(['exporter', '--listen', 'nowhere'], { cwd: scratch.dir });
    expect(listen.status).toBe(2);
    expect(listen.stderr).toBe('headroom: --listen: "nowhere" is not host:port (127.0.0.1:9464) [E_USAGE]\n');
    const filter = await runCli(['exporter', '--filter', '(['], { cwd: scratch.dir });
    expect(filter.status).toBe(2);
    expect(filter.stderr).toBe('headroom: --filter: "([" is not a regular expression [E_USAGE]\n');
  });
});
