import { type HostPaths, realHost, resolveHostPath } from './host-paths.js';
import { type FlatKeyed, parseFlatKeyed } from './parse.js';
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
  const info = parseMeminfo(readKernelFile(file), file);
  const kib = (key: string): number => (info.get(key) ?? 0) * 1024;
  return {
    total: kib('MemTotal'),
    available: kib('MemAvailable'),
    swapTotal: kib('SwapTotal'),
    swapFree: kib('SwapFree'),
  };
}

/** /proc/meminfo's "Key:   value kB" lines by key ("MemTotal", "Active(file)"), in kB (HugePages_* are counts). */
export function parseMeminfo(text: string, file: string): FlatKeyed {
  return parseFlatKeyed(text.replace(/:\s+/g, ' ').replace(/ kB$/gm, ''), file);
}
