import { type HostPaths, realHost, resolveHostPath } from './host-paths.js';
import { KeptOpenFile } from './read-file.js';

/**
 * The most recently created pid in this pid namespace, the last field of /proc/loadavg. While it holds
 * still no process was started anywhere, so a cgroup's process list cannot have grown: one cheap read
 * instead of listing cgroup.procs on every sample.
 */
export class LastPidReader {
  private readonly file: KeptOpenFile | undefined;

  constructor(host: HostPaths = realHost) {
    try {
      this.file = new KeptOpenFile(resolveHostPath(host, '/proc/loadavg'));
    } catch {
      this.file = undefined;
    }
  }

  /** undefined when unreadable: callers then list processes every time. */
  read(): number | undefined {
    const bytes = this.file?.readBytes();
    if (!bytes) return undefined;
    let end = bytes.length;
    while (end > 0 && (bytes[end - 1] === 10 || bytes[end - 1] === 32)) end--;
    let start = end;
    while (start > 0 && bytes[start - 1] !== 32) start--;
    if (start === end) return undefined;
    let value = 0;
    for (let i = start; i < end; i++) {
      const code = bytes[i] as number;
      if (code < 48 || code > 57) return undefined;
      value = value * 10 + (code - 48);
    }
    return value;
  }

  close(): void {
    this.file?.close();
  }
}
