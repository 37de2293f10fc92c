import { describe, expect, it } from 'vitest';
import { scratchDir } from './helpers/run-cli.js';

describe('the library entry point (the built package)', () => {
  it('runs a job and reads its capture back with the same operations the commands use', async () => {
    const headroom = await import('../dist/index.js');
    const scratch = scratchDir();
    try {
      const report = headroom.limits();
      expect(report.available).toBe(true);
      const result = await headroom.run({
        command: 'sh',
        args: ['-c', 'exit 4'],
        memory: 64 * 1024 * 1024,
        home: scratch.dir,
        quiet: true,
      });
      expect(result.status).toBe(4);
      expect(result.placement).toBe('own');
      const summary = headroom.summarize(headroom.readCapture(result.capture));
      expect(summary.exitCode).toBe(4);
      expect(summary.limit.bytes).toBe(64 * 1024 * 1024);
      // run() returns the capture as it read it back; the summary is the caller's to make and print.
      expect(result.recorded).not.toBeNull();
      if (result.recorded) expect(headroom.summarize(result.recorded)).toEqual(summary);
      expect(headroom.renderSummaryText(summary)).toContain('exit');
      // The library gives swap docker's default, as the CLI does: memory plus swap twice the memory.
      expect(result.recorded?.header.requested).toEqual({
        memory: 64 * 1024 * 1024,
        memorySwap: 128 * 1024 * 1024,
      });
    } finally {
      scratch.cleanup();
    }
  });
});
