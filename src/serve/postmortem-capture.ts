import { type HostPaths, type MemorySample, type PodNames, readHostMemory } from '../kernel/index.js';
import type { CaptureHeader } from '../record/capture-format.js';
import { captureOrigin } from '../record/capture-origin.js';
import { CaptureWriter } from '../record/capture-writer.js';
import type { SeenProcess } from './process-roster.js';
import type { RingSample } from './sample-ring.js';

/** What the flight recorder knew of a cgroup when one of its processes was OOM-killed. */
export interface PostmortemRecord {
  cgroup: { version: 1 | 2; path: string };
  /** As `headroom top` names it, or the pod's namespace, name and container. */
  name: string;
  pod?: PodNames;
  /** The limit that applied, and how many levels up it is set (0: the cgroup's own); null bytes: none. */
  limit: { bytes: number | null; depth: number | null };
  last: MemorySample | undefined;
  /** The ring, oldest first; times in ms since the epoch. */
  samples: RingSample[];
  /** Its processes as last seen (command lines redacted). */
  processes: SeenProcess[];
  /** Processes that vanished as the kill counter rose, the likeliest victim first. */
  victims: SeenProcess[];
  killedAtMs: number;
  kills: number;
  intervalMs: number;
  host: HostPaths;
  /** A word for the reader about how it was recorded, as a note event at the start. */
  note?: string;
  /** Whose limit struck, as the kernel logged it: the cgroup's own or one above it. */
  limitStruck?: 'own' | 'above';
}

/**
 * Writes a post-mortem as a capture, so that summary, report and live read it as they read a run's:
 * the ring's samples, the processes last seen, the kill and its victims, and an end record at the kill.
 * Throws when the file cannot be written whole.
 */
export function writePostmortem(file: string, record: PostmortemRecord): void {
  const startMs = record.samples[0]?.timeMs ?? record.killedAtMs;
  const at = (ms: number) => Math.max(0, ms - startMs);
  const writer = new CaptureWriter(file, postmortemHeader(record, startMs));
  try {
    const processes = [...record.processes, ...record.victims];
    for (const process of processes) {
      writer.processStart(0, process.pid, process.ppid, process.name, process.argv);
    }
    if (record.note) writer.event({ kind: 'note', timeMs: 0, message: record.note });
    // Process readings go in among the samples at their own times, as a run's capture has them.
    const readings = [...processes].sort((a, b) => a.seenMs - b.seenMs);
    let next = 0;
    for (const sample of record.samples) {
      while (next < readings.length && (readings[next] as SeenProcess).seenMs <= sample.timeMs) {
        const process = readings[next++] as SeenProcess;
        writer.processMemory(at(process.seenMs), process);
      }
      writer.sample(at(sample.timeMs), sample.values);
    }
    for (const process of readings.slice(next)) writer.processMemory(at(process.seenMs), process);
    const killMs = at(record.killedAtMs);
    writer.event({
      kind: 'oom-kill',
      timeMs: killMs,
      count: record.kills,
      victims: record.victims.map(({ pid, name }) => ({ pid, name })),
    });
    for (const victim of record.victims) writer.processExit(killMs, victim.pid);
    writer.end(killMs, {
      exitCode: null,
      signal: null,
      status: 0,
      durationMs: killMs,
      peakBytes: record.last?.peak ?? null,
      oomKills: record.kills,
      limitHits: 0,
    });
    writer.flush();
    if (writer.failure !== null) throw new Error(writer.failure);
  } finally {
    writer.close();
  }
}

function postmortemHeader(record: PostmortemRecord, startMs: number): CaptureHeader {
  // The command of the victim, else of the largest process: what the cgroup ran, as far as it is known.
  const command =
    [...record.victims, ...record.processes].find((process) => process.argv.length > 0)?.argv ?? [];
  const last = record.last;
  const hostMemory = readHostMemory(record.host);
  return {
    ...captureOrigin(),
    startMs,
    intervalMs: record.intervalMs,
    command,
    component: null,
    cgroup: {
      version: record.cgroup.version,
      path: record.cgroup.path,
      mode: 'observe',
      observeReason: "a post-mortem from headroom exporter's flight recorder",
      ancestorsHidden: false,
    },
    limit: {
      bytes: record.limit.bytes,
      source: limitSource(record),
      depth: record.limit.depth,
      high: last?.high ?? null,
      swapBytes: last?.swapLimit ?? null,
    },
    requested: { memory: null, memorySwap: undefined },
    hostMemory: { total: hostMemory.total, swapTotal: hostMemory.swapTotal },
    nodeOptions: null,
    postmortem: {
      name: record.name,
      killedMs: record.killedAtMs - startMs,
      ...(record.limitStruck ? { limitStruck: record.limitStruck } : {}),
      ...(record.pod ? { pod: record.pod } : {}),
    },
  };
}

function limitSource({ limit, cgroup }: PostmortemRecord): string {
  const file = cgroup.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
  if (limit.bytes === null) return 'no limit set';
  if (limit.depth === 0) return `${file} of ${cgroup.path} (cgroup v${cgroup.version})`;
  const levels = limit.depth === 1 ? 'its parent' : `${limit.depth} levels up`;
  return `${file} of a cgroup above it, ${levels} (cgroup v${cgroup.version})`;
}
