import { type MemorySample, workingSetOf } from './memory-sample.js';

/** Below this share of usage, a sample's breakdown is taken as torn by a kill between the reads. */
const TORN_SHARE = 0.75;

/**
 * Whether a breakdown (anon + file + shmem + kernel, `accounted`) accounts for `usage` as a sample read
 * whole does: the readers' test here, and the summary's for samples the readers could not mend.
 */
export function accountsFor(accounted: number, usage: number): boolean {
  return accounted >= TORN_SHARE * usage;
}

/**
 * A sample whose usage and breakdown agree, for readers given usage read before memory.stat. An OOM kill
 * between the two reads leaves usage from before the reaper freed the victim and a breakdown from after:
 * 256 MiB used, of which 113 MiB anon, at the moment of the kill (seen in the v2 VM's post-mortem). Usage
 * read again (`readUsage`) then matches the breakdown, and the peak is the last sample before the kill
 * rather than that mix. The lower usage is kept: kernel memory the breakdown does not name reads the same.
 */
export function untorn(sample: MemorySample, readUsage: () => number): MemorySample {
  if (accountsFor(sample.anon + sample.file + sample.shmem + sample.kernel, sample.usage)) return sample;
  const usage = readUsage();
  if (usage >= sample.usage) return sample;
  return { ...sample, usage, workingSet: workingSetOf(usage, sample.inactiveFile) };
}
