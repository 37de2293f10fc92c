import { describe, expect, it } from 'vitest';
import type { MemorySample } from '../../src/kernel/memory-sample.js';
import { untorn } from '../../src/kernel/untorn-sample.js';
import { MiB } from '../fixtures/captures.js';

/** Usage as read again: `usage`, counting how often it was asked. */
function reader(usage: number): { readUsage: () => number; reads: number } {
  const counted = {
    reads: 0,
    readUsage: () => {
      counted.reads++;
      return usage;
    },
  };
  return counted;
}

const sample = (values: Partial<MemorySample>): MemorySample => ({
  usage: 0,
  limit: 256 * MiB,
  high: null,
  swapLimit: null,
  anon: 0,
  file: 0,
  activeFile: 0,
  inactiveFile: 0,
  fileDirty: 0,
  fileWriteback: 0,
  shmem: 0,
  kernel: 0,
  swap: 0,
  workingSet: 0,
  oomKills: 0,
  limitHits: 0,
  highHits: 0,
  peak: null,
  underOom: false,
  ...values,
});

describe('untorn', () => {
  it('takes usage again when the breakdown accounts for far less of it, as after a kill between the reads', () => {
    // Usage from before the reaper freed the victim, memory.stat from after.
    const torn = sample({ usage: 256 * MiB, workingSet: 256 * MiB, anon: 113 * MiB, kernel: MiB });
    const after = reader(115 * MiB);
    expect(untorn(torn, after.readUsage)).toMatchObject({
      usage: 115 * MiB,
      workingSet: 115 * MiB,
      anon: 113 * MiB,
    });
    expect(after.reads).toBe(1);
  });

  it('leaves a sample alone when its breakdown accounts for its usage, without reading again', () => {
    const whole = sample({ usage: 256 * MiB, anon: 200 * MiB, file: 40 * MiB, kernel: 10 * MiB });
    const again = reader(MiB);
    expect(untorn(whole, again.readUsage)).toBe(whole);
    expect(again.reads).toBe(0);
  });

  it('keeps the usage when reading it again finds no less (kernel memory the breakdown does not name)', () => {
    const kernelHeavy = sample({ usage: 200 * MiB, anon: 20 * MiB });
    expect(untorn(kernelHeavy, reader(201 * MiB).readUsage)).toBe(kernelHeavy);
  });
});
