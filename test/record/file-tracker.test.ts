import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listOpenFiles, tmpfsUsage } from '../../src/kernel/index.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { FileTracker } from '../../src/record/file-tracker.js';
import { captureDir, MiB, removeCaptureDirs, writeCapture } from '../fixtures/captures.js';

const children: ChildProcess[] = [];
const shmFiles: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const file of shmFiles.splice(0)) fs.rmSync(file, { force: true });
});
afterAll(removeCaptureDirs);

/** A process that holds `files` open until killed; resolves once they are open. */
async function holdOpen(files: string[]): Promise<number> {
  const script = `const fs=require('fs');for(const f of process.argv.slice(1))fs.openSync(f,'r');console.log('open');setInterval(()=>{},1e6)`;
  const child = spawn(process.execPath, ['-e', script, ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return child.pid ?? 0;
}

function makeFile(file: string, mib: number): void {
  fs.writeFileSync(file, Buffer.alloc(mib * MiB, 1));
}

describe('listOpenFiles', () => {
  it('lists the regular files a process holds, with size, and marks unlinked ones', async () => {
    const dir = captureDir();
    const kept = path.join(dir, 'kept.bin');
    const gone = path.join(dir, 'gone.bin');
    makeFile(kept, 2);
    makeFile(gone, 1);
    const pid = await holdOpen([kept, gone]);
    fs.rmSync(gone);
    const files = listOpenFiles(pid).filter((file) => file.path.startsWith(dir));
    expect(
      files
        .map(({ path: p, sizeBytes, deleted }) => ({ p, sizeBytes, deleted }))
        .sort((a, b) => a.p.localeCompare(b.p)),
    ).toEqual([
      { p: gone, sizeBytes: 1 * MiB, deleted: true },
      { p: kept, sizeBytes: 2 * MiB, deleted: false },
    ]);
  });

  it('gives nothing, not an error, for a process that is gone', () => {
    expect(listOpenFiles(2 ** 22 + 7)).toEqual([]);
  });
});

describe('FileTracker', () => {
  it('records the files behind cache growth with their resident pages, and what /dev/shm holds', async () => {
    const dir = captureDir();
    const big = path.join(dir, 'big.bin');
    const small = path.join(dir, 'small.bin');
    const shm = `/dev/shm/headroom-tracker-${process.pid}`;
    shmFiles.push(shm);
    makeFile(big, 4);
    makeFile(small, 0.25);
    makeFile(shm, 2);
    const pid = await holdOpen([big, small, shm]);
    const file = writeCapture((writer) => {
      const tracker = new FileTracker(writer);
      // Not enough growth yet: no look.
      tracker.maybeScan(0, 8 * MiB, () => [pid]);
      tracker.maybeScan(3000, 40 * MiB, () => [pid]);
      // The job keeps writing after the last look: the record has the size the file ended with.
      fs.appendFileSync(big, Buffer.alloc(2 * MiB, 1));
      tracker.finish(4000);
    });
    const event = readCapture(file).events.find((e) => e.kind === 'files');
    if (event?.kind !== 'files') throw new Error('no files event');
    const ours = event.files.filter((f) => f.path === big || f.path === small || f.path === shm);
    // The small file is below the size worth naming; the tmpfs file is kept whatever its size.
    expect(ours.map((f) => [f.path, f.sizeBytes, f.tmpfs, f.pids])).toEqual([
      [big, 6 * MiB, false, [pid]],
      [shm, 2 * MiB, true, [pid]],
    ]);
    // Just written, so resident (fincore counts it with mincore).
    expect(ours[0]?.residentBytes).toBe(6 * MiB);
    const devShm = event.tmpfs.find((mount) => mount.mountPoint === '/dev/shm');
    expect(devShm?.usedBytes).toBeGreaterThanOrEqual(2 * MiB);
  });

  it('writes nothing when there was nothing to look at', () => {
    const before = tmpfsUsage('self').filter((mount) => mount.usedBytes >= MiB);
    const file = writeCapture((writer) => new FileTracker(writer).finish(100));
    const events = readCapture(file).events.filter((e) => e.kind === 'files');
    expect(events).toHaveLength(before.length === 0 ? 0 : 1);
  });
});
