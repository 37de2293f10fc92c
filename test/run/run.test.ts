import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/run/run.js';
import { useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

/** headroom's own messages, collected. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('run', () => {
  it("a part of the session that throws is a warning: the job's status passes through and the capture ends", async () => {
    const stderr = collector();
    const result = await run({
      command: 'sh',
      args: ['-c', 'sleep 0.3; exit 3'],
      home: scratch.dir,
      quiet: true,
      stderr: stderr.stream,
      intervalMs: 20,
      stopWhen: () => {
        throw new Error('policy broke');
      },
    });
    expect(result.status).toBe(3);
    expect(result.stoppedBecause).toBeNull();
    expect(stderr.text()).toBe('headroom: warning: the stop policy failed: policy broke\n');
    expect(result.recorded?.end).toMatchObject({ exitCode: 3, status: 3 });
  });

  it("returns the capture read back and prints no summary: that is the caller's", async () => {
    const stderr = collector();
    const result = await run({ command: 'true', home: scratch.dir, stderr: stderr.stream, live: false });
    expect(result.status).toBe(0);
    expect(result.recorded?.header.command).toEqual(['true']);
    expect(stderr.text()).not.toMatch(/peak|capture/);
  });
});
