import fs from 'node:fs';
import { errnoCode } from './errors.js';
import { type HostPaths, resolveHostPath } from './host-paths.js';

/** One OOM kill as the kernel logs it. */
export interface LoggedOomKill {
  pid: number;
  /** The victim's command name (comm). */
  name: string;
  /** The cgroup the victim was in, in the kernel's terms: where the kill is counted. */
  taskCgroup: string;
  /** The cgroup whose limit was hit: the same, or an ancestor. */
  oomCgroup: string;
  /** Bytes resident when killed, from the "Killed process" line; 0 when it was not seen. */
  anonRss: number;
  fileRss: number;
  shmemRss: number;
}

// 4.19+: "oom-kill:constraint=CONSTRAINT_MEMCG,…,oom_memcg=/a,task_memcg=/a/b,task=python3,pid=15731,uid=0"
const OOM_LINE = /oom-kill:.*?\boom_memcg=([^,]*),task_memcg=([^,]*),task=(.*),pid=(\d+),uid=\d+/;
const KILLED_LINE = /Killed process (\d+) \(.*\).*?anon-rss:(\d+)kB, file-rss:(\d+)kB, shmem-rss:(\d+)kB/;
const RECORD_BYTES = 8192;

/**
 * The kernel's own record of OOM kills, read from /dev/kmsg: the victim's pid, name and cgroup, which the
 * cgroup's kill counter does not tell. Reading it takes CAP_SYSLOG or `kernel.dmesg_restrict=0`; where it
 * cannot be opened, callers fall back to the processes that vanished as the counter rose. Only kills
 * logged after open() are returned.
 */
export class KernelOomLog {
  private readonly buffer = Buffer.alloc(RECORD_BYTES);
  private readonly waiting = new Map<number, LoggedOomKill>();

  private constructor(private readonly fd: number) {
    // /dev/kmsg starts at the oldest record kept; the ones before now are not this recorder's.
    this.drain();
  }

  /** Opens the log, or undefined when it cannot be read here. */
  static open(host: HostPaths): KernelOomLog | undefined {
    try {
      return new KernelOomLog(
        fs.openSync(resolveHostPath(host, '/dev/kmsg'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK),
      );
    } catch {
      return undefined;
    }
  }

  /** Kills logged since the last call. */
  read(): LoggedOomKill[] {
    const found: LoggedOomKill[] = [];
    this.drain((line) => {
      const oom = OOM_LINE.exec(line);
      if (oom) {
        const kill: LoggedOomKill = {
          pid: Number(oom[4]),
          name: oom[3] ?? '',
          taskCgroup: oom[2] ?? '',
          oomCgroup: oom[1] ?? '',
          anonRss: 0,
          fileRss: 0,
          shmemRss: 0,
        };
        found.push(kill);
        this.waiting.set(kill.pid, kill);
        return;
      }
      // The sizes come in the line after; it fills in the record already handed out.
      const killed = KILLED_LINE.exec(line);
      const kill = killed ? this.waiting.get(Number(killed[1])) : undefined;
      if (killed && kill) {
        kill.anonRss = Number(killed[2]) * 1024;
        kill.fileRss = Number(killed[3]) * 1024;
        kill.shmemRss = Number(killed[4]) * 1024;
        this.waiting.delete(kill.pid);
      }
    });
    if (this.waiting.size > 64) this.waiting.clear();
    return found;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Reads every record there is now; each read() of /dev/kmsg returns one. */
  private drain(each?: (line: string) => void): void {
    for (;;) {
      let bytes: number;
      try {
        bytes = fs.readSync(this.fd, this.buffer, 0, RECORD_BYTES, null);
      } catch (error) {
        // EPIPE: records were overwritten before they were read; the read after goes on from the oldest.
        if (errnoCode(error) === 'EPIPE') continue;
        return; // EAGAIN: nothing more for now
      }
      if (bytes <= 0) return;
      if (!each) continue;
      const text = this.buffer.toString('latin1', 0, bytes);
      // "prio,seq,usec,flags;message\n" followed by continuation lines; the message is what is matched.
      const start = text.indexOf(';');
      if (start === -1) continue;
      const end = text.indexOf('\n', start);
      each(text.slice(start + 1, end === -1 ? undefined : end));
    }
  }
}
