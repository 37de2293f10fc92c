import { defineConfig } from 'vitest/config';

// The single executable chrooted into a Debian root without Node (test/exe): one file, one sandbox, run
// alone after the other tests, since its jobs fill 256 MiB limits of their own on this 2-core machine.
export default defineConfig({
  test: {
    include: ['test/exe/**/*.test.ts'],
    maxWorkers: 1,
    testTimeout: 90_000,
    // The first run on a machine builds the rootfs with debootstrap.
    hookTimeout: 30 * 60_000,
  },
});
