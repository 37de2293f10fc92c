import { defineConfig } from 'vitest/config';

// The cgroup v2 VM (test/vm): one file, one boot, run alone after the other tests, since qemu's two
// emulated CPUs would fight the real-cgroup tests for this 2-core machine.
export default defineConfig({
  test: {
    include: ['test/vm/**/*.test.ts'],
    maxWorkers: 1,
    testTimeout: 10_000,
    hookTimeout: 30 * 60_000,
  },
});
