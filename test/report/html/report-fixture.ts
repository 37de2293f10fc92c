import type { Finding } from '../../../src/analyze/finding.js';
import type { Summary } from '../../../src/analyze/summarize.js';
import {
  captureHeader,
  endRecord,
  MiB,
  processMemory,
  sampleValues,
  writeCapture,
} from '../../fixtures/captures.js';

/** Strings a hostile or unlucky process could put in its argv, name or file paths. */
export const HOSTILE = {
  script: '<script>alert(1)</script>',
  img: '"><img src=x onerror=alert(2)>',
  name: '</script><b>x',
  path: "/tmp/<img src=x onerror=alert(3)>/out'.csv",
  separators: 'line\u2028sep\u2029end &amp;',
};

export const OOM_AT_MS = 45_000;
export const LIMIT = 256 * MiB;

/**
 * A 60-second job under a 256 MiB limit: anon grows until the OOM killer takes the worker at 45 s, page
 * cache with dirty pages beside it, limit hits before the kill. The worker's argv holds hostile strings.
 */
export function hostileCapture(options: { end?: boolean; seconds?: number } = {}): string {
  const seconds = options.seconds ?? 60;
  const header = captureHeader({
    command: ['python', 'etl.py', HOSTILE.script, HOSTILE.img],
    limit: { bytes: LIMIT, source: 'memory.max of /headroom/job-1', high: 240 * MiB, swapBytes: 0 },
  });
  return writeCapture((writer) => {
    writer.processStart(0, 100, 1, 'python', ['python', 'etl.py', HOSTILE.script, HOSTILE.img]);
    writer.processStart(0, 101, 100, HOSTILE.name, ['python', '-c', HOSTILE.separators, HOSTILE.path]);
    let oomKills = 0;
    let limitHits = 0;
    let killed = false;
    for (let t = 0; t <= seconds * 1000; t += 100) {
      const growing = Math.min(t, OOM_AT_MS) / OOM_AT_MS;
      const anon = killed ? 30 * MiB : Math.round((20 + 170 * growing) * MiB);
      const file = Math.round((10 + 50 * Math.min(1, t / 20_000)) * MiB);
      const dirty = Math.round(file * (t < 30_000 ? 0.4 : 0.1));
      const shmem = 6 * MiB;
      const kernel = 4 * MiB;
      const usage = anon + file + shmem + kernel;
      if (!killed && t >= OOM_AT_MS) {
        killed = true;
        oomKills++;
        writer.event({ kind: 'oom-kill', timeMs: t, count: 1, victims: [{ pid: 101, name: HOSTILE.name }] });
        writer.processExit(t, 101);
      }
      if (!killed && usage > 250 * MiB && t % 500 === 0) {
        limitHits++;
        writer.event({ kind: 'limit-hit', timeMs: t, count: 1, total: limitHits });
      }
      writer.sample(
        t,
        sampleValues({
          usage,
          anon,
          file,
          fileDirty: dirty,
          fileWriteback: Math.round(dirty / 4),
          shmem,
          kernel,
          oomKills,
          limitHits,
        }),
      );
      if (t % 1000 === 0) {
        writer.processMemory(
          t,
          processMemory(100, { name: 'python', rssAnon: 15 * MiB + t * 10, rssFile: 4 * MiB }),
        );
        if (!killed) {
          writer.processMemory(
            t,
            processMemory(101, { name: HOSTILE.name, ppid: 100, rssAnon: anon - 20 * MiB, rssFile: 2 * MiB }),
          );
        }
      }
    }
    if (options.end !== false) {
      writer.end(seconds * 1000, endRecord({ durationMs: seconds * 1000, oomKills, limitHits }));
    }
  }, header);
}

/** Findings as the analyzers would write them, with hostile strings in their text and files. */
export function withFindings(summary: Summary): Summary {
  const findings: Finding[] = [
    {
      kind: 'oom-kill',
      severity: 'critical',
      message: `The OOM killer took ${HOSTILE.name} (pid 101) at 45.0s: anon memory reached 190 MiB of the 256 MiB limit.`,
      advice: ['Raise the limit to at least 320 MiB.', `Or process the input in chunks: ${HOSTILE.script}`],
      evidence: { fromMs: 30_000, toMs: OOM_AT_MS, series: ['anon'], pids: [101] },
      figures: { anonBytes: 190 * MiB },
    },
    {
      kind: 'page-cache',
      severity: 'warning',
      message: 'Page cache held 60 MiB, 24 MiB of it dirty, from writing one file.',
      advice: ['Page cache is reclaimable; dirty pages must reach the disk first.'],
      evidence: { fromMs: 0, toMs: 20_000, series: ['file', 'fileDirty'], pids: [100] },
      figures: { fileBytes: 60 * MiB },
      files: [
        { path: HOSTILE.path, sizeBytes: 640 * MiB, residentBytes: 60 * MiB, tmpfs: false, deleted: false },
      ],
    },
    {
      kind: 'right-size',
      severity: 'info',
      message: 'A limit of 320 MiB leaves 25% headroom over the peak.',
      advice: ['Set it where the job is deployed:'],
      evidence: { fromMs: 0, toMs: 60_000, series: ['usage'], pids: [] },
      figures: { suggestedBytes: 320 * MiB },
      snippets: {
        docker: 'docker run --memory 320m ...',
        compose: 'services:\n  etl:\n    mem_limit: 320m',
        kubernetes: `resources:\n  limits:\n    memory: 320Mi  # ${HOSTILE.img}`,
      },
    },
  ];
  const verdict: Summary['verdict'] = {
    kind: 'child-process',
    cause: `A child process, ${HOSTILE.name} (101), filled memory: it held 190 MiB.`,
    confidence: 'high',
    evidence: { fromMs: 50_000, toMs: 60_000, series: ['anon'], pids: [101] },
  };
  return { ...summary, verdict, findings };
}
