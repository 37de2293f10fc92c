import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The cgroup v2 VM runs on its own, after these (vitest.vm.config.ts, npm run test:vm).
    exclude: [...configDefaults.exclude, 'test/vm/**'],
    // Real-cgroup tests allocate hundreds of MiB each; two at once is what this 2-core machine takes.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
