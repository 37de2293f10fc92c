import fs from 'node:fs';
import {
  type HostPaths,
  type ProcessMemory,
  parseStatus,
  procPath,
  readArgvAsync,
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
 * Command lines being read at once, across all rosters: a read can wait as long as an OOM kill takes
 * (see readArgvAsync), and each holds one of libuv's four threads while it waits.
 */
const MAX_ARGV_READS = 2;
let argvReads = 0;

/**
 * The processes of one cgroup as last seen, and which of them vanished since: the OOM killer's victim
 * is a process that vanished as the kill counter rose. Read only while the cgroup is near its limit, since
 * every read walks /proc for each of its processes. Command lines are redacted as they are read: they
 * are other people's, and may hold their secrets.
 */
export class ProcessRoster {
  private seen = new Map<number, SeenProcess>();
  private gone: SeenProcess[] = [];
  private readonly argvs = new Map<number, { name: string; argv: string[] }>();

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
      const argv = this.argvOf(pid, memory.name);
      next.set(pid, { ...memory, argv, seenMs: nowMs });
    }
    for (const [pid, process] of this.seen) if (!next.has(pid)) this.gone.push(process);
    this.seen = next;
    for (const pid of this.argvs.keys()) if (!next.has(pid)) this.argvs.delete(pid);
  }

  /**
   * A process's command line as far as it is known: read off the event loop, so empty until the read is
   * done, and filled in then (the array is shared with every record of the process). A pid reused by
   * another program gets its own; a read not started for want of a slot is tried at the next refresh.
   */
  private argvOf(pid: number, name: string): string[] {
    const known = this.argvs.get(pid);
    if (known && known.name === name) return known.argv;
    if (argvReads >= MAX_ARGV_READS) return [];
    const entry = { name, argv: [] as string[] };
    this.argvs.set(pid, entry);
    argvReads++;
    void readArgvAsync(pid, this.host).then((read) => {
      argvReads--;
      entry.argv.push(...redactArgv(read));
    });
    return entry.argv;
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
