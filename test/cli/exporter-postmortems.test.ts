/**
 * `headroom exporter --postmortems DIR` on real cgroups below this process's own: a post-mortem for an
 * OOM kill it did not start, served on the exporter's listener without secrets, while slow clients
 * cannot keep the scrape from getting through.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { finish, jobsDir, startCli, useScratchDir } from '../helpers/run-cli.js';
import { canMakeCgroups, ownCgroup, until, useTestCgroups } from '../helpers/test-cgroups.js';

const MiB = 1024 * 1024;
const scratch = useScratchDir();
const cgroups = useTestCgroups();
const startIn = cgroups.startIn;

interface Entry {
  id: string;
  name: string | null;
  cgroup: string | null;
  killedMs: number | null;
}

describe.skipIf(!canMakeCgroups)('headroom exporter --postmortems (real cgroup v1)', () => {
  it('writes and serves one post-mortem per OOM kill, redacted, and the scrape gets through slow clients', async () => {
    if (!ownCgroup) return;
    const top = cgroups.make(`headroom-test-${process.pid}-agent`);
    startIn(cgroups.make('idle', undefined, top), ['sleep', '120']);
    // Hostile names: a cgroup and a program named to break out of HTML, and a password in the arguments.
    const hostileCgroup = 'leak <img src=x onerror=alert(1)> "\'';
    const leaking = cgroups.make(hostileCgroup, 96 * MiB, top);
    const hostileProgram = path.join(scratch.dir, '<b>py');
    fs.symlinkSync(
      execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim(),
      hostileProgram,
    );
    const dir = path.join(scratch.dir, 'pm');
    const exporter = startCli(
      ['agent', '--listen', '127.0.0.1:0', '--cgroup-root', top.dir, '--postmortems', dir],
      { cwd: scratch.dir },
    );
    let stderr = '';
    exporter.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const port = await until('the exporter to listen', async () => {
      const match = /127\.0\.0\.1:(\d+)\/metrics/.exec(stderr);
      return match ? Number(match[1]) : undefined;
    });
    const base = `http://127.0.0.1:${port}`;
    const metric = async (name: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
      return match ? Number(match[1]) : undefined;
    };
    await until('the recorder to watch all three cgroups', async () =>
      (await metric('headroom_recorder_cgroups')) === 3 ? true : undefined,
    );

    const victim = startIn(leaking, [
      hostileProgram,
      path.join(jobsDir, 'grow.py'),
      '8',
      '0.1',
      '100',
      '--password=hunter2',
    ]);
    await once(victim, 'exit');
    const [entry] = await until('the post-mortem', async () => {
      const list = (await (await fetch(`${base}/postmortems`)).json()) as Entry[];
      return list.length > 0 ? list : undefined;
    });
    // --cgroup-root makes DIR the top of what is shown; the listing is JSON with the names as they are.
    expect(entry?.cgroup).toBe(`/${hostileCgroup}`);
    expect(entry?.name).toBe(`/${hostileCgroup}`);
    expect(entry?.id).toMatch(/^leak_img_src_x_onerror_alert_1_-\d{8}T[\d.]+Z\.jsonl$/);
    expect(entry?.killedMs).toBeGreaterThan(Date.now() - 120_000);
    expect(await metric('headroom_postmortems_total')).toBe(1);
    expect(fs.readdirSync(dir)).toEqual([entry?.id]);

    const capture = await fetch(`${base}/postmortems/${entry?.id}`);
    expect(capture.status).toBe(200);
    const text = await capture.text();
    expect(text).toBe(fs.readFileSync(path.join(dir, entry?.id ?? ''), 'utf8'));
    expect(text).toContain('"--password=***"');
    const report = await fetch(`${base}/postmortems/${entry?.id}/report`);
    expect(report.status).toBe(200);
    const html = await report.text();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(`${text}${html}`).not.toContain('hunter2');
    // The victim's name and the cgroup's reach the page only as escaped JSON.
    expect(
      text,
      text
        .split('\n')
        .filter((line) => line.startsWith('["P"'))
        .join('\n'),
    ).toContain('"<b>py"');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>py');

    // Nothing outside DIR, however the id is spelt (sent as written: fetch would resolve the dots itself).
    const raw = (url: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: url }, (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => {
              body += chunk.toString();
            });
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    fs.writeFileSync(path.join(scratch.dir, 'outside.jsonl'), 'secret');
    fs.symlinkSync(path.join(scratch.dir, 'outside.jsonl'), path.join(dir, 'link.jsonl'));
    for (const bad of [
      '../outside.jsonl',
      '..%2Foutside.jsonl',
      '%2e%2e%2foutside.jsonl',
      'link.jsonl',
      'link.jsonl/report',
      '%ZZ',
      'nope.jsonl',
    ]) {
      const response = await raw(`/postmortems/${bad}`);
      expect([400, 404], bad).toContain(response.status);
      expect(response.body, bad).not.toContain('secret');
    }

    // Twenty clients that ask for the capture and never read, and twenty that never finish their request:
    // the scrape is still answered.
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const reader = net.connect(port, '127.0.0.1');
      reader.write(`GET /postmortems/${entry?.id} HTTP/1.1\r\nHost: x\r\n\r\n`);
      reader.pause();
      const writer = net.connect(port, '127.0.0.1');
      writer.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      sockets.push(reader, writer);
    }
    const started = Date.now();
    expect(await metric('headroom_postmortems_total')).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    for (const socket of sockets) socket.destroy();

    exporter.kill('SIGTERM');
    expect((await finish(exporter)).status).toBe(0);
  });
});
