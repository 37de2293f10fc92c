// The highest values a run's samples reached, from the capture itself: the summary's breakdown is the
// one sample with the highest usage, and a writer's dirty cache can be flushed by then.
import { readCapture } from '../../src/record/capture-reader.js';

export interface RunHighs {
  /** Dirty and writeback page cache together. */
  dirtyBytes: number;
}

export function runHighs(captureFile: string): RunHighs {
  const { series } = readCapture(captureFile);
  const dirty = series.values.fileDirty;
  const writeback = series.values.fileWriteback;
  let dirtyBytes = 0;
  for (let i = 0; i < series.length; i++) {
    // -1 marks a value the kernel did not give.
    dirtyBytes = Math.max(dirtyBytes, Math.max(0, dirty[i] ?? 0) + Math.max(0, writeback[i] ?? 0));
  }
  return { dirtyBytes };
}
