import { kernelFileError } from './errors.js';
import { type HostPaths, realHost, resolveHostPath } from './host-paths.js';
import { decimalAt, type FlatKeyed, parseFlatKeyed } from './parse.js';
import { readKernelFile } from './read-file.js';

export interface HostMemory {
  total: number;
  available: number;
  swapTotal: number;
  swapFree: number;
}

/** /proc/meminfo: the host's memory, which is what `free` and Python's os.sysconf see inside a container. */
export function readHostMemory(host: HostPaths = realHost): HostMemory {
  const file = resolveHostPath(host, '/proc/meminfo');
  const text = readKernelFile(file);
  // Four of some fifty lines, looked up rather than parsed into a map: run reads this at every start,
  // before the job, and each young object made then brings its first garbage collection nearer.
  const kib = (key: string): number => (meminfoValue(text, key, file) ?? 0) * 1024;
  return {
    total: kib('MemTotal'),
    available: kib('MemAvailable'),
    swapTotal: kib('SwapTotal'),
    swapFree: kib('SwapFree'),
  };
}

/** The value (kB, or a count) of one "Key:   value kB" line of /proc/meminfo; undefined when there is none. */
function meminfoValue(text: string, key: string, file: string): number | undefined {
  const at = text.indexOf(`\n${key}:`) + 1;
  if (at === 0 && !text.startsWith(`${key}:`)) return undefined;
  let i = at + key.length + 1;
  while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
  const { value, end } = decimalAt(text, i);
  // The number ends its line or is followed by a unit (" kB"): "12abc" or "1.5" is not a figure.
  const next = text.charCodeAt(end);
  if (end === i || !(Number.isNaN(next) || next === 10 || next === 32))
    throw kernelFileError(file, `bad value for "${key}"`);
  return value;
}

/** /proc/meminfo's "Key:   value kB" lines by key ("MemTotal", "Active(file)"), in kB (HugePages_* are counts). */
export function parseMeminfo(text: string, file: string): FlatKeyed {
  return parseFlatKeyed(text.replace(/:\s+/g, ' ').replace(/ kB$/gm, ''), file);
}
