import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real servers and processes on loopback; two cores, so keep files from piling up.
    maxWorkers: 2,
  },
});
