import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { captureDir, removeCaptureDirs } from '../fixtures/captures.js';

// commander's program, replaced by a spy: a plain run line must never reach it.
const runProgram = vi.hoisted(() => vi.fn(async () => 0));
vi.mock('../../src/cli/program.js', () => ({ runProgram }));
const { main } = await import('../../src/cli/main-run.js');

afterAll(removeCaptureDirs);

describe("run's bundle entry (main-run)", () => {
  it("runs a plain line without commander, and the job's status is headroom's", async () => {
    const capture = path.join(captureDir(), 'plain.jsonl');
    expect(await main(['run', '-q', '-o', capture, '--', 'sh', '-c', 'exit 3'])).toBe(3);
    expect(fs.existsSync(capture)).toBe(true);
    expect(runProgram).not.toHaveBeenCalled();
  });

  it('hands help, an unknown option and short flags run together to commander', async () => {
    for (const argv of [
      ['run', '--help'],
      ['run', '--bogus', 'true'],
      ['run', '-qm', '1g', 'true'],
    ]) {
      runProgram.mockClear();
      await main(argv);
      expect(runProgram).toHaveBeenCalledWith(argv, expect.anything());
    }
  });
});
