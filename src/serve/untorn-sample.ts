import { type CgroupReader, type MemorySample, workingSetOf } from '../kernel/index.js';

/** Below this share of usage, a sample's breakdown is taken as torn by a kill between the reads. */
const TORN_SHARE = 0.75;

/**
 * A sample whose usage and breakdown agree. Usage is read before memory.stat, so an OOM kill between the
 * two leaves usage from before the reaper freed the victim and a breakdown from after: 256 MiB used, of
 * which 113 MiB anon, at the moment of the kill (seen in the v2 VM). Usage read again then matches the
 * breakdown, and the peak is the last sample before the kill rather than that mix.
 */
export function untorn(reader: CgroupReader, sample: MemorySample): MemorySample {
  const accounted = sample.anon + sample.file + sample.shmem + sample.kernel;
  if (accounted >= TORN_SHARE * sample.usage) return sample;
  const usage = reader.readUsage();
  if (usage >= sample.usage) return sample;
  return { ...sample, usage, workingSet: workingSetOf(usage, sample.inactiveFile) };
}
