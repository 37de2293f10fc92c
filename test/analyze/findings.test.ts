import { afterAll, describe, expect, it } from 'vitest';
import type { Finding, FindingKind } from '../../src/analyze/finding.js';
import { defaultHeap, maxOldSpace } from '../../src/analyze/findings/runtime-heap.js';
import { summarize } from '../../src/analyze/summarize.js';
import { linearFit } from '../../src/linear-fit.js';
import type { CaptureHeader } from '../../src/record/capture-format.js';
import { readCapture } from '../../src/record/capture-reader.js';
import type { CaptureWriter, SampleValues } from '../../src/record/capture-writer.js';
import {
  captureHeader,
  endRecord,
  MiB,
  processMemory,
  removeCaptureDirs,
  sampleValues,
  writeCapture,
} from '../fixtures/captures.js';

afterAll(removeCaptureDirs);

function findingsOf(
  build: (writer: CaptureWriter) => void,
  header: CaptureHeader = captureHeader(),
): Finding[] {
  return summarize(readCapture(writeCapture(build, header))).findings;
}

function kinds(findings: Finding[]): FindingKind[] {
  return findings.map((f) => f.kind);
}

function only(findings: Finding[], kind: FindingKind): Finding {
  const matching = findings.filter((f) => f.kind === kind);
  expect(matching).toHaveLength(1);
  return matching[0] as Finding;
}

/** `count` samples, 100 ms apart, with values from `at(i)`. */
function samples(
  writer: CaptureWriter,
  count: number,
  at: (i: number) => Partial<SampleValues>,
  fromMs = 0,
): void {
  for (let i = 0; i < count; i++) writer.sample(fromMs + i * 100, sampleValues(at(i)));
}

describe('anon-growth', () => {
  it('fits a steady climb, gives its rate and the time to the limit', () => {
    const findings = findingsOf((writer) => {
      // 1 MiB per 100 ms = 600 MiB/min, from 20 MiB, for 10 s: 120 MiB at the end of a 256 MiB limit.
      samples(writer, 101, (i) => ({ usage: (20 + i) * MiB, anon: (20 + i) * MiB }));
      writer.end(10_000, endRecord({ durationMs: 10_000 }));
    });
    const growth = only(findings, 'anon-growth');
    expect(growth.figures.bytesPerMinute).toBeCloseTo(600 * MiB, -6);
    expect(growth.figures.r2).toBeGreaterThan(0.99);
    // (256 - 120) MiB at 10 MiB/s.
    expect(growth.figures.timeToLimitMs).toBeCloseTo(13_600, -2);
    expect(growth.severity).toBe('warning');
    expect(growth.message).toMatch(/600 MiB\/min/);
  });

  it('does not call a sawtooth growth, however tall', () => {
    const findings = findingsOf((writer) => {
      samples(writer, 200, (i) => {
        const anon = (i % 10 < 5 ? 200 : 10) * MiB;
        return { usage: anon, anon };
      });
    });
    expect(kinds(findings)).not.toContain('anon-growth');
  });

  it('forecasts from memory the kernel cannot reclaim, not from usage that clean cache fills', () => {
    const findings = findingsOf((writer) => {
      samples(writer, 101, (i) => ({ usage: 255 * MiB, anon: (20 + i) * MiB, file: (235 - i) * MiB }));
    });
    // 120 MiB pinned at the end, 10 MiB/s: (256 - 120) / 10 s, not 0.
    expect(only(findings, 'anon-growth').figures.timeToLimitMs).toBeCloseTo(13_600, -2);
  });

  it('does not call a slow sawtooth growth either', () => {
    const findings = findingsOf((writer) => {
      // A period of 50 samples against windows of about 17: some windows see only its top.
      samples(writer, 200, (i) => {
        const anon = (i % 50 < 25 ? 10 + 8 * (i % 25) : 10) * MiB;
        return { usage: anon, anon };
      });
    });
    expect(kinds(findings)).not.toContain('anon-growth');
  });

  it('does not call one early step up growth', () => {
    const findings = findingsOf((writer) => {
      samples(writer, 200, (i) => ({ usage: (i < 20 ? 10 : 150) * MiB, anon: (i < 20 ? 10 : 150) * MiB }));
    });
    expect(kinds(findings)).not.toContain('anon-growth');
  });

  it('does not call a climb that went back down for good growth', () => {
    const findings = findingsOf((writer) => {
      samples(writer, 300, (i) => {
        const anon = (i < 100 ? 10 + 2 * i : 10) * MiB;
        return { usage: anon, anon };
      });
    });
    expect(kinds(findings)).not.toContain('anon-growth');
  });

  it('reads the climb up to the anon peak, so an OOM kill at the end does not hide it', () => {
    const findings = findingsOf((writer) => {
      samples(writer, 100, (i) => ({ usage: (10 + 2.4 * i) * MiB, anon: (10 + 2.4 * i) * MiB }));
      writer.sample(10_000, sampleValues({ usage: 2 * MiB, anon: 1 * MiB, oomKills: 1 }));
    });
    const growth = only(findings, 'anon-growth');
    expect(growth.message).toMatch(/OOM killer/);
    expect(growth.figures.timeToLimitMs).toBeNull();
  });

  it('linearFit gives slope and R²', () => {
    expect(
      linearFit([
        { t: 0, value: 1 },
        { t: 1, value: 3 },
        { t: 2, value: 5 },
      ]),
    ).toEqual({ slope: 2, r2: 1 });
    expect(linearFit([{ t: 0, value: 1 }]).slope).toBe(0);
    expect(
      linearFit([
        { t: 0, value: 1 },
        { t: 1, value: 1 },
      ]).r2,
    ).toBe(0);
  });
});

describe('page-cache and shmem', () => {
  it('without a limit, clean cache is information, not an alarm', () => {
    const findings = findingsOf(
      (writer) => samples(writer, 30, () => ({ usage: 900 * MiB, anon: 20 * MiB, file: 870 * MiB })),
      captureHeader({ limit: { bytes: null, source: 'no limit', high: null, swapBytes: null } }),
    );
    const cache = only(findings, 'page-cache');
    expect(cache.severity).toBe('info');
    expect(cache.message).toMatch(/870 MiB of 900 MiB in use \(97%\)/);
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('does not call dirty cache a problem where nothing had to reclaim it', () => {
    const findings = findingsOf(
      (writer) =>
        samples(writer, 30, () => ({
          usage: 600 * MiB,
          anon: 20 * MiB,
          file: 580 * MiB,
          fileDirty: 400 * MiB,
        })),
      captureHeader({ limit: { bytes: null, source: 'no limit', high: null, swapBytes: null } }),
    );
    const cache = only(findings, 'page-cache');
    expect(cache.severity).toBe('info');
    expect(cache.message).not.toMatch(/outran/);
    expect(cache.message).toMatch(/not a leak/);
  });

  it('says why one big write leaves little dirty cache on v2 and fills the limit with it on v1', () => {
    // The same write under a 256 MiB limit, as each version's writeback lets it look.
    const write = (dirty: number) => (writer: CaptureWriter) => {
      samples(writer, 30, () => ({ usage: 250 * MiB, anon: 30 * MiB, file: 215 * MiB, fileDirty: dirty }));
      writer.event({ kind: 'limit-hit', timeMs: 1000, count: 40, total: 40 });
      writer.end(3000, endRecord({ durationMs: 3000, limitHits: 40 }));
    };
    const v2 = only(findingsOf(write(12 * MiB)), 'page-cache');
    expect(v2.message).toMatch(/cgroup v2 throttles a cgroup's writers/);
    expect(v2.message).toMatch(/not a leak/);
    expect(v2.severity).toBe('info');
    const v1Header = captureHeader({
      cgroup: { version: 1, path: '/headroom/job-1', mode: 'own', ancestorsHidden: false },
    });
    const v1 = only(findingsOf(write(150 * MiB), v1Header), 'page-cache');
    expect(v1.message).toMatch(/cgroup v1 has no writeback of its own/);
    expect(v1.message).toMatch(/outran the disk/);
    expect(v1.severity).toBe('warning');
    // A reader's clean cache gets neither note.
    const read = only(findingsOf(write(0)), 'page-cache');
    expect(read.message).not.toMatch(/cgroup v[12]/);
  });

  it('names the files from the files event, largest resident first, and shmem mounts', () => {
    const findings = findingsOf((writer) => {
      samples(writer, 30, () => ({ usage: 250 * MiB, anon: 10 * MiB, file: 140 * MiB, shmem: 100 * MiB }));
      writer.event({
        kind: 'files',
        timeMs: 3000,
        files: [
          {
            path: '/data/a.csv',
            sizeBytes: 50 * MiB,
            residentBytes: 40 * MiB,
            tmpfs: false,
            deleted: false,
            pids: [7],
          },
          {
            path: '/data/out.json',
            sizeBytes: 90 * MiB,
            residentBytes: 90 * MiB,
            tmpfs: false,
            deleted: false,
            pids: [7],
          },
          {
            path: '/dev/shm/q',
            sizeBytes: 100 * MiB,
            residentBytes: 100 * MiB,
            tmpfs: true,
            deleted: false,
            pids: [8],
          },
        ],
        tmpfs: [{ mountPoint: '/dev/shm', usedBytes: 100 * MiB, sizeBytes: 64 * 1024 * MiB }],
      });
    });
    const cache = only(findings, 'page-cache');
    expect(cache.files?.map((f) => f.path)).toEqual(['/data/out.json', '/data/a.csv']);
    expect(cache.message).toMatch(/mostly \/data\/out\.json \(90\.0 MiB, 90\.0 MiB of it still cached/);
    const shmem = only(findings, 'shmem');
    expect(shmem.message).toMatch(/\/dev\/shm held 100 MiB of its 64\.0 GiB/);
    expect(shmem.files?.map((f) => f.path)).toEqual(['/dev/shm/q']);
    expect(shmem.evidence.pids).toEqual([8]);
  });

  it('in observe mode leaves headroom out of usage and anon', () => {
    const findings = findingsOf(
      (writer) =>
        samples(writer, 30, () => ({ usage: 240 * MiB, anon: 60 * MiB, file: 180 * MiB, self: 50 * MiB })),
      captureHeader({
        cgroup: { version: 2, path: '/docker/abc', mode: 'observe', ancestorsHidden: false },
      }),
    );
    const cache = only(findings, 'page-cache');
    expect(cache.figures.usageBytes).toBe(190 * MiB);
    expect(cache.figures.anonBytes).toBe(10 * MiB);
  });
});

describe('limit-pressure (cgroup v2 counters and PSI)', () => {
  it('tells memory.high throttling and PSI stalls, and warns when little is reclaimable', () => {
    const findings = findingsOf(
      (writer) =>
        samples(writer, 50, (i) => ({
          usage: 250 * MiB,
          anon: 240 * MiB,
          limitHits: i < 10 ? 0 : i,
          highHits: i < 20 ? 0 : 5,
          psiSome: i === 30 ? 3500 : 500,
          psiFull: i === 30 ? 900 : 0,
        })),
      captureHeader({
        cgroup: { version: 2, path: '/headroom/job-1', mode: 'own', ancestorsHidden: false },
        limit: { bytes: 256 * MiB, source: 'memory.max', high: 200 * MiB, swapBytes: 0 },
      }),
    );
    const pressure = only(findings, 'limit-pressure');
    expect(pressure.severity).toBe('warning');
    expect(pressure.figures).toMatchObject({ limitHits: 49, highHits: 5, psiSomePeak: 35, psiFullPeak: 9 });
    expect(pressure.message).toMatch(/memory\.events max/);
    expect(pressure.message).toMatch(/memory\.high throttled the job 5 times/);
    expect(pressure.message).toMatch(/up to 35% of the time/);
    expect(pressure.evidence.fromMs).toBe(1000);
    expect(pressure.evidence.toMs).toBe(4900);
  });

  it('does not print a zero PSI full figure', () => {
    const findings = findingsOf((writer) =>
      samples(writer, 20, () => ({ usage: 100 * MiB, anon: 100 * MiB, psiSome: 1500, psiFull: 0 })),
    );
    const pressure = only(findings, 'limit-pressure');
    expect(pressure.message).toMatch(/up to 15% of the time/);
    expect(pressure.message).not.toMatch(/all tasks/);
  });

  it('limit hits on clean cache are information only', () => {
    const findings = findingsOf((writer) =>
      samples(writer, 50, (i) => ({ usage: 255 * MiB, anon: 10 * MiB, file: 240 * MiB, limitHits: i })),
    );
    expect(only(findings, 'limit-pressure').severity).toBe('info');
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });
});

describe('swap', () => {
  const pressed = (writer: CaptureWriter) => {
    samples(writer, 10, (i) => ({ usage: 250 * MiB, anon: 250 * MiB, limitHits: i }));
  };

  it('says when --memory-swap equal to --memory turned swap off', () => {
    const header = captureHeader({
      hostMemory: { total: 8192 * MiB, swapTotal: 2048 * MiB },
      requested: { memory: 256 * MiB, memorySwap: 256 * MiB },
    });
    expect(only(findingsOf(pressed, header), 'swap').message).toMatch(/Swap was off for this job/);
  });

  it("says how much docker's default lets the job swap", () => {
    const header = captureHeader({
      hostMemory: { total: 8192 * MiB, swapTotal: 2048 * MiB },
      limit: { bytes: 256 * MiB, source: 'x', high: null, swapBytes: 256 * MiB },
    });
    expect(only(findingsOf(pressed, header), 'swap').message).toMatch(/swap out up to 256 MiB beyond/);
  });

  it('warns when the job did swap', () => {
    const findings = findingsOf((writer) =>
      samples(writer, 10, () => ({ usage: 100 * MiB, swap: 50 * MiB })),
    );
    const swap = only(findings, 'swap');
    expect(swap.severity).toBe('warning');
    expect(swap.figures.swapPeakBytes).toBe(50 * MiB);
  });

  it("ignores the host's few pages of housekeeping swap, and swap from before an observed run", () => {
    expect(
      kinds(findingsOf((writer) => samples(writer, 10, () => ({ usage: 100 * MiB, swap: 4096 })))),
    ).not.toContain('swap');
    const observed = findingsOf(
      (writer) => samples(writer, 10, () => ({ usage: 100 * MiB, swap: 300 * MiB })),
      captureHeader({ cgroup: { version: 2, path: '/docker/abc', mode: 'observe', ancestorsHidden: false } }),
    );
    expect(kinds(observed)).not.toContain('swap');
  });

  it('stays quiet for a job far from its limit that was not asked about swap', () => {
    const findings = findingsOf((writer) => samples(writer, 10, () => ({ usage: 10 * MiB, anon: 10 * MiB })));
    expect(kinds(findings)).not.toContain('swap');
  });
});

describe('runtime-heap', () => {
  it('reads --max-old-space-size from argv in either spelling', () => {
    expect(maxOldSpace(['node', '--max-old-space-size=1024', 'a.js'])).toBe(1024 * MiB);
    expect(maxOldSpace(['node', '--max_old_space_size', '300'])).toBe(300 * MiB);
    expect(maxOldSpace(['node', 'a.js'])).toBeUndefined();
  });

  it("estimates Node's default heap from the limit as Node 20 picks it", () => {
    expect(defaultHeap(256 * MiB)).toBe(256 * MiB);
    expect(defaultHeap(1024 * MiB)).toBe(512 * MiB);
    expect(defaultHeap(64 * 1024 * MiB)).toBe(4096 * MiB);
  });

  it('does not tell a Python job reading through page cache that it cannot see the limit', () => {
    const findings = findingsOf((writer) => {
      writer.processStart(0, 42, 1, 'python3', ['python3', 'read.py']);
      samples(writer, 10, () => ({ usage: 250 * MiB, anon: 20 * MiB, file: 230 * MiB }));
    });
    expect(kinds(findings)).not.toContain('runtime-heap');
  });

  it('takes the heap limit from NODE_OPTIONS in the header', () => {
    const findings = findingsOf(
      (writer) => {
        writer.processStart(0, 42, 1, 'node', ['node', 'server.js']);
        samples(writer, 10, () => ({ usage: 50 * MiB, anon: 50 * MiB }));
        writer.processMemory(0, processMemory(42, { rssAnon: 50 * MiB }));
      },
      captureHeader({ nodeOptions: '--max-old-space-size=2048' }),
    );
    const heap = only(findings, 'runtime-heap');
    expect(heap.figures.heapLimitBytes).toBe(2048 * MiB);
    expect(heap.figures.suggestedMaxOldSpaceMiB).toBe(192);
  });
});

describe('right-size', () => {
  it('covers the larger of working set and unreclaimable memory with a 25% margin', () => {
    const findings = findingsOf(
      (writer) => {
        samples(writer, 20, (i) => ({
          usage: (i === 10 ? 300 : 100) * MiB,
          anon: (i === 10 ? 200 : 80) * MiB,
          inactiveFile: 20 * MiB,
          kernel: 8 * MiB,
        }));
      },
      captureHeader({ limit: { bytes: 1024 * MiB, source: 'x', high: null, swapBytes: 0 } }),
    );
    const size = only(findings, 'right-size');
    // Working set peak 280 MiB × 1.25 = 350 -> 384 MiB in 64 MiB steps; median working set 80 -> 80 MiB.
    expect(size.figures.recommendedLimitBytes).toBe(384 * MiB);
    expect(size.figures.recommendedReservationBytes).toBe(80 * MiB);
    expect(size.snippets).toEqual({
      docker: 'docker run --memory=384m --memory-swap=384m --memory-reservation=80m ...',
      compose: 'deploy:\n  resources:\n    limits:\n      memory: 384M\n    reservations:\n      memory: 80M',
      kubernetes: 'resources:\n  requests:\n    memory: 80Mi\n  limits:\n    memory: 384Mi',
    });
  });

  it('sizes from the need when a kill came from outside the limit, and counts a spike between samples', () => {
    const findings = findingsOf(
      (writer) => {
        samples(writer, 20, (i) => ({
          usage: 100 * MiB,
          anon: 100 * MiB,
          peak: i === 19 ? 400 * MiB : 100 * MiB,
        }));
        writer.sample(2000, sampleValues({ usage: 10 * MiB, anon: 10 * MiB, peak: 400 * MiB, oomKills: 1 }));
      },
      captureHeader({ limit: { bytes: 4096 * MiB, source: 'x', high: null, swapBytes: 0 } }),
    );
    expect(only(findings, 'oom-kill').figures.atLimit).toBe(0);
    const size = only(findings, 'right-size');
    expect(size.message).not.toMatch(/killed at its/);
    // The kernel saw 400 MiB: 400 × 1.25 = 500 -> 512 MiB.
    expect(size.figures.recommendedLimitBytes).toBe(512 * MiB);
  });

  it('names as the largest holder before a kill only a process still running then', () => {
    const findings = findingsOf((writer) => {
      writer.processStart(0, 10, 1, 'loader', ['loader']);
      writer.processMemory(0, processMemory(10, { rssAnon: 200 * MiB }));
      writer.processStart(0, 11, 1, 'worker', ['worker']);
      writer.processMemory(0, processMemory(11, { rssAnon: 50 * MiB }));
      samples(writer, 10, () => ({ usage: 250 * MiB, anon: 250 * MiB }));
      writer.processExit(1000, 10);
      samples(writer, 40, (i) => ({
        usage: (i < 39 ? 240 : 10) * MiB,
        anon: (i < 39 ? 240 : 10) * MiB,
        oomKills: i < 39 ? 0 : 1,
      }));
    });
    expect(only(findings, 'oom-kill').figures.largestAnonPid).toBe(11);
  });

  it('gives no findings at all for an empty capture', () => {
    expect(findingsOf(() => {})).toEqual([]);
  });
});
