import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileIn } from '../../src/kernel/file-in.js';

describe('fileIn', () => {
  it('is path.join for a normal directory and a plain name', () => {
    for (const [dir, name] of [
      ['/sys/fs/cgroup/memory/job', 'memory.stat'],
      ['/sys/fs/cgroup', 'cgroup.procs'],
      ['/', 'proc'],
      ['/proc/123', 'status'],
      ['/tmp/fixture/', 'memory.max'],
      ['', 'memory.max'],
    ] as const) {
      expect(fileIn(dir, name)).toBe(path.join(dir, name));
    }
  });
});
