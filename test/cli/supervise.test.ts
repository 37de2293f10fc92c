import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturesIn, finish, jobsDir, runCli, sleep, startCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('headroom supervise (real cgroup v1)', () => {
  it('restarts a leaking service at its threshold, keeps serving between restarts, and stops after --max-restarts', async () => {
    const port = await freePort();
    const child = startCli(
      [
        'supervise',
        '--memory',
        '256m',
        '--restart-above',
        '100m',
        '--max-restarts',
        '3',
        '--backoff',
        '100ms',
        '--grace',
        '2',
        '--',
        'node',
        path.join(jobsDir, 'leaky-service.mjs'),
        String(port),
      ],
      { cwd: scratch.dir },
    );
    const done = finish(child);
    let running = true;
    void done.then(() => {
      running = false;
    });
    const answeredBy = new Set<string>();
    while (running) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(200) });
        answeredBy.add(await response.text());
      } catch {
        // Between generations.
      }
      await sleep(50);
    }
    const result = await done;
    // Four generations, each of which served requests.
    expect(answeredBy.size).toBeGreaterThanOrEqual(3);
    const lines = result.stderr.trim().split('\n');
    expect(lines.filter((line) => /restart \d\/3 in/.test(line))).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^headroom supervise: generation 1 stopped after [\d.]+s: working set 1\d\d MiB over --restart-above 100 MiB \(anon /,
    );
    expect(lines[lines.length - 1]).toMatch(
      /^headroom supervise: generation 4 stopped .*gave up after 3 restarts \(--max-restarts\)/,
    );
    // Gave up: a failure, though the last generation's SIGTERM handler exited 0.
    expect(result.status).toBe(1);
    expect(capturesIn(scratch.dir)).toHaveLength(4);
  });

  it('restarts before the trend reaches the limit', async () => {
    const port = await freePort();
    const result = await runCli(
      [
        'supervise',
        '--memory',
        '256m',
        '--restart-before',
        '20s',
        '--max-restarts',
        '0',
        '--',
        'node',
        path.join(jobsDir, 'leaky-service.mjs'),
        String(port),
        '1',
      ],
      { cwd: scratch.dir },
    );
    expect(result.stderr).toMatch(
      /growing [\d.]+ [MG]iB\/min would reach the 256 MiB limit in [\d.]+s \(--restart-before 20\.0s\)/,
    );
    expect(result.stderr).toMatch(/gave up after 0 restarts/);
    const [capture] = capturesIn(scratch.dir);
    expect(fs.readFileSync(capture ?? '', 'utf8')).toMatch(/"guard-action",\{"action":"term"/);
  });

  it('refuses bad thresholds and durations with one line and exit 125', async () => {
    const above = await runCli(['supervise', '--restart-above', 'lots', '--', 'true'], { cwd: scratch.dir });
    expect(above.status).toBe(125);
    expect(above.stderr).toBe(
      'headroom: --restart-above: "lots" is neither a size (512m, 2g) nor a percentage of the limit (90%)\n',
    );
    const before = await runCli(['supervise', '--restart-before', '5x', '--', 'true'], { cwd: scratch.dir });
    expect(before.status).toBe(125);
    expect(before.stderr).toBe('headroom: --restart-before: "5x" is not a duration (500ms, 30s, 5m, 1h)\n');
  });

  it('ends when the service exits 0', async () => {
    const result = await runCli(['supervise', '--', 'sh', '-c', 'exit 0'], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/generation 1 exited 0 after [\d.]+s; supervision ends/);
  });
});
