import path from 'node:path';

/**
 * Names a runtime gives its main thread. A process's name in /proc/PID/status, in `ps`, and in the
 * kernel's OOM report is its main thread's, so from Node 24 on every Node process is called "MainThread".
 */
const MAIN_THREAD_NAMES = new Set(['MainThread']);

/**
 * What to call a process: the kernel's name for it (`comm`), unless that is only its main thread's name
 * (MAIN_THREAD_NAMES); then the file name of the program it runs, from argv[0], when argv is known.
 */
export function programName(comm: string, argv: readonly string[]): string {
  if (!MAIN_THREAD_NAMES.has(comm)) return comm;
  return path.basename(argv[0] ?? '') || comm;
}
