import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpoolCollector } from '../../src/profile/spool-collector.js';
import { CAPTURE_FORMAT, CAPTURE_VERSION, type CaptureHeader } from '../../src/record/capture-format.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { CaptureWriter } from '../../src/record/capture-writer.js';
import { useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

function header(): CaptureHeader {
  return {
    format: CAPTURE_FORMAT,
    version: CAPTURE_VERSION,
    tool: 'test',
    hostname: 'h',
    kernel: 'k',
    startMs: 0,
    intervalMs: 100,
    command: ['job'],
    component: null,
    cgroup: { version: 1, path: '/job', mode: 'own', ancestorsHidden: false },
    limit: { bytes: null, source: 'none', high: null, swapBytes: null },
    requested: { memory: null, memorySwap: undefined },
    hostMemory: { total: 1, swapTotal: 0 },
    fields: [],
  };
}

const info = { runtime: 'node', mode: 'sampling', interval: 32768, argv: ['node', 'job.js'] };
const line = (record: unknown[]) => `${JSON.stringify(record)}\n`;

describe('copying profiler spool files into the capture', () => {
  it('copies whole valid lines with the pid, across reads, and drops torn and foreign ones', () => {
    const file = path.join(scratch.dir, 'capture.jsonl');
    const writer = new CaptureWriter(file, header());
    const collector = new SpoolCollector(writer, scratch.dir);
    // A live pid: the spool of a process that is gone is read once more and closed.
    const spool = path.join(collector.dir, `${process.pid}.jsonl`);
    fs.writeFileSync(spool, line(['I', 5, info]) + line(['N', 6, [1, 0, 'main', '/app/job.js', 3]]));
    // Half a line: not copied until its newline arrives.
    const snapshot = line(['A', 7, 'peak', [1, 4096, 2]]);
    fs.appendFileSync(spool, snapshot.slice(0, 10));
    collector.collect();
    writer.flush();
    expect(readCapture(file).profiles[0]?.snapshots).toEqual([]);
    fs.appendFileSync(spool, snapshot.slice(10));
    fs.appendFileSync(spool, 'not json\n');
    fs.appendFileSync(spool, line(['A', 8, 'peak', [1, 'x', 2]]));
    fs.appendFileSync(spool, line(['Z', 9, 'what']));
    fs.writeFileSync(path.join(collector.dir, 'notes.txt'), line(['W', 1, 'ignored: not a pid file']));
    collector.close();
    writer.close();
    expect(fs.existsSync(collector.dir)).toBe(false);
    expect(collector.copied).toBe(3);
    expect(collector.dropped).toBe(3);

    const capture = readCapture(file);
    expect(capture.profiles).toHaveLength(1);
    const profile = capture.profiles[0];
    expect(profile?.pid).toBe(process.pid);
    expect(profile?.info.argv).toEqual(['node', 'job.js']);
    expect(profile?.nodes.get(1)?.frame).toEqual({ name: 'main', file: '/app/job.js', line: 3 });
    expect(profile?.snapshots).toEqual([
      { timeMs: 7, reason: 'peak', nodeIds: [1], bytes: [4096], counts: [2], totalBytes: 4096 },
    ]);
    expect(fs.readFileSync(file, 'utf8')).toContain(`["A",7,${process.pid},"peak",[1,4096,2]]`);
  });

  it('reads many profiles written between two collections, larger than one read', () => {
    const file = path.join(scratch.dir, 'capture.jsonl');
    const writer = new CaptureWriter(file, header());
    const collector = new SpoolCollector(writer, scratch.dir);
    const nodes: unknown[] = [];
    for (let id = 1; id <= 20_000; id++) nodes.push(id, id === 1 ? 0 : id - 1, `f${id}`, '/app/deep.js', id);
    fs.writeFileSync(path.join(collector.dir, '7.jsonl'), line(['I', 1, info]) + line(['N', 1, nodes]));
    fs.appendFileSync(path.join(collector.dir, '7.jsonl'), line(['A', 2, 'exit', [20_000, 1, 1]]));
    collector.close();
    writer.close();
    const profile = readCapture(file).profiles[0];
    expect(profile?.nodes.size).toBe(20_000);
    expect(profile?.snapshots[0]?.totalBytes).toBe(1);
  });

  it('leaves out a record of a process whose profile never started, and says so when reading', () => {
    const file = path.join(scratch.dir, 'capture.jsonl');
    const writer = new CaptureWriter(file, header());
    writer.profile(9, ['A', 3, 'peak', [1, 10, 1]]);
    writer.close();
    const capture = readCapture(file);
    expect(capture.profiles).toEqual([]);
    expect(capture.warnings.join('\n')).toMatch(/belongs to no profile/);
  });
});

describe('reading profile records', () => {
  it('refuses a node defined twice, which could make the call tree a cycle', () => {
    const file = path.join(scratch.dir, 'capture.jsonl');
    const writer = new CaptureWriter(file, header());
    writer.profile(5, ['I', 1, info]);
    writer.profile(5, ['N', 1, [1, 0, 'a', '/a.js', 1, 2, 1, 'b', '/a.js', 2]]);
    writer.profile(5, ['N', 2, [1, 2, 'a', '/a.js', 1]]);
    writer.close();
    const capture = readCapture(file);
    expect(capture.profiles[0]?.nodes.get(1)?.parent).toBe(0);
    expect(capture.warnings.join('\n')).toMatch(/line 4 defines a profile node a second time/);
  });
});

describe('what the job may put in the spool directory', () => {
  it('never blocks on a FIFO, never follows a link, and takes a request without touching what a link names', () => {
    const file = path.join(scratch.dir, 'capture.jsonl');
    const writer = new CaptureWriter(file, header());
    const collector = new SpoolCollector(writer, scratch.dir);
    execFileSync('mkfifo', [path.join(collector.dir, '5.jsonl')]);
    const secret = path.join(scratch.dir, 'secret');
    fs.writeFileSync(secret, 'keep me');
    fs.symlinkSync(secret, path.join(collector.dir, '6.jsonl'));
    fs.rmSync(path.join(collector.dir, 'request'));
    fs.symlinkSync(secret, path.join(collector.dir, 'request'));
    collector.collect();
    collector.requestSnapshot();
    collector.close();
    writer.close();
    expect(fs.readFileSync(secret, 'utf8')).toBe('keep me');
    expect(readCapture(file).profiles).toEqual([]);
  });

  it('drops the unfinished line of a process that is gone, and closes its file', () => {
    const file = path.join(scratch.dir, 'capture.jsonl');
    const writer = new CaptureWriter(file, header());
    const collector = new SpoolCollector(writer, scratch.dir);
    const gone = spawnSync('true').pid as number;
    fs.writeFileSync(path.join(collector.dir, `${gone}.jsonl`), `${line(['I', 1, info])}["A",2,"pe`);
    collector.collect();
    expect(collector.copied).toBe(1);
    expect(collector.dropped).toBe(1);
    collector.close();
    writer.close();
  });
});
