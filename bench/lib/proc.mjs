import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** Clock ticks per second for utime/stime in /proc/PID/stat (sysconf(_SC_CLK_TCK), 100 on Linux). */
export const CLK_TCK = 100;

/**
 * The fields of /proc/PID/stat (PID may be "self") after the command name, which is in parentheses and
 * may contain spaces: [0] is field 3 (state), so field N is [N - 3]. Undefined once the process is gone.
 */
export function statFields(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of a whole process (all threads) in clock ticks, or undefined once it is gone. */
export function cpuTicks(pid) {
  const fields = statFields(pid);
  // utime is field 14, stime field 15.
  return fields && Number(fields[11]) + Number(fields[12]);
}

/** Nanoseconds on CPU summed over the process's current threads (schedstat), or undefined. */
export function cpuNanos(pid) {
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let total = 0;
  for (const tid of tids) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // thread exited
    }
  }
  return total;
}

/** The kB fields of /proc/PID/status we care about, in bytes, or undefined once it is gone. */
export function memoryStatus(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const result = {};
  for (const key of ['VmRSS', 'VmHWM', 'RssAnon', 'RssFile', 'RssShmem']) {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    result[key] = match ? Number(match[1]) * 1024 : 0;
  }
  return result;
}

/**
 * Runs a process to its end under bash, whose `times` then prints the CPU time of its reaped children
 * (getrusage RUSAGE_CHILDREN, to the millisecond): the process's CPU time, all threads, start-up and
 * teardown included, which no process can report of itself. /proc's cutime would give the same in clock
 * ticks (10 ms), too coarse for a job of a few hundred ms. Resolves with the exit, the wall time from
 * spawn to exit and the CPU time in ms.
 */
export function runWithCpu(command, args, options = {}) {
  const script = '"$@"; status=$?; times >&3; exit $status';
  const started = performance.now();
  const child = spawn('/bin/bash', ['-c', script, 'bash', command, ...args], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    ...options,
  });
  let times = '';
  child.stdio[3].on('data', (chunk) => {
    times += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const wallMs = performance.now() - started;
      // Two lines of "user system": the shell's own, then its children's, as 0m0.123s.
      const seconds = [...(times.split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map(
        (match) => Number(match[1]) * 60 + Number(match[2]),
      );
      const cpuMs = seconds.length === 2 ? (seconds[0] + seconds[1]) * 1000 : Number.NaN;
      resolve({ code, signal, wallMs, cpuMs });
    });
  });
}
