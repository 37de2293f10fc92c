import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isId, PostmortemStore } from '../../src/serve/postmortem-store.js';

let root: string;
let dir: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-postmortems-'));
  dir = path.join(root, 'pm');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 11, 7, 5, 1, 2, 345);

/** Writes `bytes` bytes as one post-mortem, dated `at` (its mtime too, so the order is the test's). */
function put(store: PostmortemStore, name: string, at: number, bytes = 100): string {
  const id = store.write(name, at, (file) => fs.writeFileSync(file, 'x'.repeat(bytes), { flag: 'wx' }));
  fs.utimesSync(path.join(store.dir, id), at / 1000, at / 1000);
  return id;
}

describe('PostmortemStore', () => {
  it('names each post-mortem after its cgroup and time, and lists them newest first', () => {
    const store = new PostmortemStore({ dir });
    const first = put(store, 'pod etl/worker', T0);
    const second = put(store, 'pod etl/worker', T0);
    const third = put(store, '../../etc/passwd', T0 + 1000);
    expect(first).toBe('pod_etl_worker-20261207T050102.345Z.jsonl');
    expect(second).toBe('pod_etl_worker-20261207T050102.345Z-2.jsonl');
    expect(third).toBe('etc_passwd-20261207T050103.345Z.jsonl');
    expect(store.list().map((file) => file.id)).toEqual([third, second, first]);
    expect(fs.readdirSync(store.dir).sort()).toEqual([first, second, third].sort());
  });

  it('deletes the oldest first to stay within its count and size, never the newest', () => {
    const store = new PostmortemStore({ dir, maxFiles: 3, maxBytes: 1000 });
    const ids = [0, 1, 2, 3].map((n) => put(store, `c${n}`, T0 + n * 1000));
    expect(store.list().map((file) => file.id)).toEqual([ids[3], ids[2], ids[1]]);
    const big = put(store, 'big', T0 + 10_000, 2000);
    expect(store.list().map((file) => file.id)).toEqual([big]);
  });

  it('admits a few post-mortems of one cgroup per hour, and others all the same', () => {
    let now = T0;
    const store = new PostmortemStore({ dir, perCgroupPerHour: 2, now: () => now });
    expect(store.admit('a').ok).toBe(true);
    expect(store.admit('a').ok).toBe(true);
    const refused = store.admit('a');
    expect(refused).toEqual({ ok: false, reason: '2 post-mortems of a in the last hour already' });
    expect(store.admit('b').ok).toBe(true);
    now += 3_600_000;
    expect(store.admit('a').ok).toBe(true);
  });

  it('opens only regular files of its own directory by a valid id', () => {
    const store = new PostmortemStore({ dir });
    const id = put(store, 'job', T0);
    fs.writeFileSync(path.join(root, 'secret.jsonl'), 'secret');
    fs.symlinkSync(path.join(root, 'secret.jsonl'), path.join(store.dir, 'link.jsonl'));
    fs.mkdirSync(path.join(store.dir, 'sub.jsonl'));
    const opened = store.open(id);
    expect(opened?.bytes).toBe(100);
    if (opened) fs.closeSync(opened.fd);
    for (const bad of [
      '../secret.jsonl',
      'link.jsonl',
      'sub.jsonl',
      'gone.jsonl',
      '.tmp-x.jsonl',
      id.slice(0, -1),
    ]) {
      expect(store.open(bad), bad).toBeUndefined();
    }
    expect(store.list().map((file) => file.id)).toEqual([id]);
  });

  it('removes what a crash left half written', () => {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '.tmp-job-1.jsonl'), 'half');
    const store = new PostmortemStore({ dir });
    expect(fs.readdirSync(store.dir)).toEqual([]);
  });

  it.each(['a.jsonl', 'pod_x-20261207T050102.345Z-2.jsonl'])('%s is an id', (id) =>
    expect(isId(id)).toBe(true),
  );
  it.each([
    '',
    '.jsonl',
    'a..jsonl',
    '../a.jsonl',
    'a/b.jsonl',
    'a.json',
    `${'a'.repeat(200)}.jsonl`,
    'a%2f.jsonl',
  ])('%j is not an id', (id) => expect(isId(id)).toBe(false));
});
