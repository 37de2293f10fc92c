import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listOpenFiles } from '../../src/kernel/index.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { FileTracker } from '../../src/record/file-tracker.js';
import { MiB, removeCaptureDirs, writeCapture } from '../fixtures/captures.js';
import { repoRoot } from '../helpers/run-cli.js';

const children: ChildProcess[] = [];
const cleanups: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const file of cleanups.splice(0)) fs.rmSync(file, { recursive: true, force: true });
});
afterAll(removeCaptureDirs);

const hasFincore = spawnSync('fincore', ['--version'], { stdio: 'ignore' }).status === 0;

/** A directory in the repository, on disk: the system temp directory may itself be a tmpfs. */
function diskDir(): string {
  const base = path.join(repoRoot, 'test-artifacts');
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'file-tracker-'));
  cleanups.push(dir);
  return dir;
}

/** A process that runs `script` (Python) and stays until killed; resolves once it printed a line. */
async function holdWith(script: string): Promise<number> {
  const child = spawn(
    'python3',
    ['-c', `${script}\nprint("ready", flush=True)\nimport time\ntime.sleep(600)`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return child.pid ?? 0;
}

function holdOpen(files: string[]): Promise<number> {
  return holdWith(`fds = [open(f, "rb") for f in ${JSON.stringify(files)}]`);
}

function makeFile(file: string, mib: number): void {
  fs.writeFileSync(file, Buffer.alloc(mib * MiB, 1));
}

function filesEvent(file: string) {
  const event = readCapture(file).events.find((e) => e.kind === 'files');
  if (event?.kind !== 'files') throw new Error('no files event');
  return event;
}

describe('listOpenFiles', () => {
  it('lists the regular files a process holds, with size, and marks unlinked ones', async () => {
    const dir = diskDir();
    const kept = path.join(dir, 'kept.bin');
    const gone = path.join(dir, 'gone.bin');
    makeFile(kept, 2);
    makeFile(gone, 1);
    const pid = await holdOpen([kept, gone]);
    fs.rmSync(gone);
    const { files } = listOpenFiles(pid);
    const ours = files
      .filter((file) => file.path.startsWith(dir))
      .map(({ path: p, sizeBytes, deleted }) => ({ p, sizeBytes, deleted }))
      .sort((a, b) => a.p.localeCompare(b.p));
    expect(ours).toEqual([
      { p: gone, sizeBytes: 1 * MiB, deleted: true },
      { p: kept, sizeBytes: 2 * MiB, deleted: false },
    ]);
  });

  it('looks at no more descriptors than it is allowed', async () => {
    const pid = await holdOpen([]);
    expect(listOpenFiles(pid).descriptors).toBeGreaterThan(2);
    expect(listOpenFiles(pid, undefined, 2).descriptors).toBe(2);
  });

  it('gives nothing, not an error, for a process that is gone', () => {
    expect(listOpenFiles(2 ** 22 + 7)).toEqual({ files: [], descriptors: 0 });
  });
});

describe('FileTracker', () => {
  it.skipIf(!hasFincore)(
    'records the files behind cache growth with their size at the end and resident pages',
    async () => {
      const dir = diskDir();
      const big = path.join(dir, 'big.bin');
      const small = path.join(dir, 'small.bin');
      makeFile(big, 4);
      makeFile(small, 0.25);
      const pid = await holdOpen([big, small]);
      const capture = writeCapture((writer) => {
        const tracker = new FileTracker(writer);
        // Not enough growth yet: no look.
        tracker.maybeScan(0, 8 * MiB, false, () => [pid]);
        tracker.maybeScan(3000, 40 * MiB, false, () => [pid]);
        // The job keeps writing after the last look: the record has the size the file ended with.
        fs.appendFileSync(big, Buffer.alloc(2 * MiB, 1));
        tracker.finish(4000);
      });
      const ours = filesEvent(capture).files.filter((f) => f.path.startsWith(dir));
      // The small file is below the size worth naming.
      expect(ours.map((f) => [f.path, f.sizeBytes, f.tmpfs, f.pids])).toEqual([[big, 6 * MiB, false, [pid]]]);
      // Just written, so resident: fincore counts it with mincore.
      expect(ours[0]?.residentBytes).toBe(6 * MiB);
    },
  );

  it('counts /dev/shm files and memfds as memory-backed, whatever their size', async () => {
    const shm = `/dev/shm/headroom-tracker-${process.pid}`;
    cleanups.push(shm);
    fs.writeFileSync(shm, Buffer.alloc(64 * 1024, 1));
    const pid = await holdWith(
      `import os\nfd = os.memfd_create("headroom-test")\nos.write(fd, b"x" * 65536)\nf = open(${JSON.stringify(shm)}, "rb")`,
    );
    const capture = writeCapture((writer) => {
      const tracker = new FileTracker(writer);
      tracker.maybeScan(3000, 40 * MiB, false, () => [pid]);
      tracker.finish(4000);
    });
    const files = filesEvent(capture).files;
    expect(files.find((f) => f.path === shm)).toMatchObject({ tmpfs: true, sizeBytes: 64 * 1024 });
    expect(files.find((f) => f.path.startsWith('/memfd:headroom-test'))).toMatchObject({ tmpfs: true });
  });

  it('writes nothing when there was nothing to look at', () => {
    // A host with one disk and no tmpfs at all.
    const root = diskDir();
    fs.mkdirSync(path.join(root, 'proc/self'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'proc/self/mountinfo'),
      '22 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw\n',
    );
    const capture = writeCapture((writer) => new FileTracker(writer, { root }).finish(100));
    expect(readCapture(capture).events).toEqual([]);
  });
});
