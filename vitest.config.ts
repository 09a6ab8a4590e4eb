import { defineConfig } from 'vitest/config';
import LongestFirst from './test/setup/sequencer.js';

// Three projects: `unit` (test/unit: pure code, no processes, no sockets, no services; `npm run test:unit`),
// `integration` (everything else: real processes, servers on loopback, Redis, PostgreSQL, Chromium, a fake
// cluster) and `contention` (the load gate under two busy loops of its own, run alone: scripts/test.sh). Deadlines are generous: they bound a hang, they do not measure speed, and a busy 2-core machine
// can make a process start take several seconds.
/** Test files run at a time: GUARDGATE_TEST_WORKERS, or 4; anything but a positive whole number is refused. */
function workers(value = process.env.GUARDGATE_TEST_WORKERS ?? '4'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`GUARDGATE_TEST_WORKERS must be a positive whole number, not "${value}"`);
  return n;
}

/** The load gate under contention: two busy loops of its own; beside another file the machine is the bottleneck. */
const CONTENTION = 'test/release/load-gate-noise.test.ts';

export default defineConfig({
  test: {
    globalSetup: ['test/setup/global.ts'],
    setupFiles: ['test/setup/processes.ts'],
    // Four files at a time on two cores: a file spends much of its time waiting (timers, processes starting,
    // sockets), and with two at a time the cores were idle 36% of a quiet run (521 s); three: 18% (406 s); four:
    // 8% (345 s). More than that only queues for the CPU. `GUARDGATE_TEST_WORKERS` sets it (`--maxWorkers` does
    // not reach the projects).
    maxWorkers: workers(),
    // The longest files first (test/setup/sequencer.ts): a long file started last would be the run's tail.
    sequence: { sequencer: LongestFirst },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', CONTENTION],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // Makes its own contention and judges through it: run alone, after the others (scripts/test.sh).
      {
        extends: true,
        test: { name: 'contention', include: [CONTENTION], testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
});
