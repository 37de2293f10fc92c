import fs from 'node:fs';
import {
  type HostPaths,
  type ProcessMemory,
  parseStatus,
  procPath,
  readArgv,
  readCgroupPids,
} from '../kernel/index.js';
import { redactArgv } from '../redact-secrets.js';

/** A process of a watched cgroup as last seen: bytes, with its command line already redacted. */
export interface SeenProcess extends ProcessMemory {
  argv: string[];
  /** ms (the recorder's clock) of the read. */
  seenMs: number;
}

/** The processes kept per cgroup: enough to name a victim and the biggest ones, never a fork bomb's worth. */
const MAX_PROCESSES = 200;

/**
 * The processes of one cgroup as last seen, and which of them vanished since: the OOM killer's victim
 * is a process that vanished as the kill counter rose. Read only while the cgroup is near its limit, since
 * every read walks /proc for each of its processes. Command lines are redacted as they are read: they
 * are other people's, and may hold their secrets.
 */
export class ProcessRoster {
  private seen = new Map<number, SeenProcess>();
  private gone: SeenProcess[] = [];

  constructor(
    private readonly procsFile: string,
    private readonly host: HostPaths,
  ) {}

  /** Reads the cgroup's processes again; those no longer there join the vanished. */
  refresh(nowMs: number): void {
    const next = new Map<number, SeenProcess>();
    for (const pid of readCgroupPids(this.procsFile).slice(0, MAX_PROCESSES)) {
      const memory = readStatus(pid, this.host);
      if (!memory) continue;
      const known = this.seen.get(pid);
      // A pid reused by another program gets its own command line.
      const argv = known && known.name === memory.name ? known.argv : redactArgv(readArgv(pid, this.host));
      next.set(pid, { ...memory, argv, seenMs: nowMs });
    }
    for (const [pid, process] of this.seen) if (!next.has(pid)) this.gone.push(process);
    this.seen = next;
  }

  /** The processes at the last refresh, largest first. */
  get processes(): SeenProcess[] {
    return [...this.seen.values()].sort((a, b) => size(b) - size(a));
  }

  /** What the last refresh read of `pid`, if it was there. */
  lastSeen(pid: number): SeenProcess | undefined {
    return this.seen.get(pid);
  }

  /** Processes that vanished at refreshes since the last call, largest first. */
  takeVanished(): SeenProcess[] {
    const gone = this.gone.sort((a, b) => size(b) - size(a));
    this.gone = [];
    return gone;
  }
}

/** What the OOM killer ranks a process by, near enough: its resident memory and swap. */
export function size(process: ProcessMemory): number {
  return process.rssAnon + process.rssFile + process.rssShmem + process.swap;
}

function readStatus(pid: number, host: HostPaths): ProcessMemory | undefined {
  try {
    return parseStatus(pid, fs.readFileSync(procPath(host, pid, 'status'), 'latin1'));
  } catch {
    return undefined;
  }
}
