import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real-cgroup tests allocate hundreds of MiB each; two at once is what this 2-core machine takes.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          // The single executable's chroot and the cgroup v2 VM run on their own, after these
          // (vitest.exe.config.ts, npm run test:exe; vitest.vm.config.ts, npm run test:vm).
          exclude: [...configDefaults.exclude, 'test/exe/**', 'test/vm/**', 'test/diagnosis/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'diagnosis',
          include: ['test/diagnosis/**/*.test.ts'],
          // The corpus runs two 256 MiB jobs at once by itself; beside the other real-cgroup tests it
          // starved them (a growth rate under its bound, a profile fetched too late), so it runs after.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
