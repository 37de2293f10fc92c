import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFollower } from '../../src/record/capture-follower.js';
import { CaptureWriter } from '../../src/record/capture-writer.js';
import { captureDir, captureHeader, MiB, removeCaptureDirs, sampleValues } from '../fixtures/captures.js';

afterAll(removeCaptureDirs);

describe('CaptureFollower', () => {
  it('follows records as they are flushed, waits for a cut line, and starts over when the file is replaced', () => {
    const file = path.join(captureDir(), 'live.hrc');
    const writer = new CaptureWriter(file, captureHeader({ command: ['first'] }));
    writer.sample(0, sampleValues({ usage: 10 * MiB }));
    writer.flush();
    const follower = new CaptureFollower(file);
    try {
      expect(follower.poll()?.values.usage).toBe(10 * MiB);
      writer.sample(100, sampleValues({ usage: 20 * MiB }));
      writer.flush();
      // Half a line from a writer caught mid-flush waits for its end.
      fs.appendFileSync(file, '[100,');
      const state = follower.poll();
      expect(state?.values.usage).toBe(20 * MiB);
      expect(state?.timeMs).toBe(100);
      writer.close();

      // A new run with -o replaces the file.
      fs.rmSync(file);
      const second = new CaptureWriter(file, captureHeader({ command: ['second'] }));
      second.sample(0, sampleValues({ usage: 5 * MiB }));
      second.close();
      const replaced = follower.poll();
      expect(replaced?.header.command).toEqual(['second']);
      expect(replaced?.values.usage).toBe(5 * MiB);
    } finally {
      follower.close();
    }
  });
});
