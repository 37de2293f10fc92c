import v8 from 'node:v8';
import vm from 'node:vm';
import { setOptimizingCompilers } from './optimizing-compilers.js';

/**
 * For the exporter, which runs for days next to the workloads it watches, memory counts more than the
 * last millisecond of a scrape. V8 grows its heap generously when a scrape allocates fast and gives
 * little back, and its optimizing compiler pages in megabytes of its own code. So: optimize for size, no
 * optimizing compilers, and a full collection after each scrape (a few ms on a small heap). Measured on
 * 500 cgroups: VmRSS 110 MiB with none of this, about 52 MiB with all of it, the scrape about a fifth
 * slower. Returns what to call after each unit of work.
 */
export function leanForTheLongRun(): () => void {
  v8.setFlagsFromString('--optimize-for-size');
  setOptimizingCompilers(false);
  v8.setFlagsFromString('--expose-gc');
  // A context made after --expose-gc has a gc() of its own.
  const gc = vm.runInNewContext('gc') as () => void;
  return () => {
    setImmediate(gc);
  };
}
