// Per test file (setupFiles): mark the processes this file starts, and fail the file if any is still running
// once its own cleanup is done (they are killed first, so that no leak outlives the run).
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { describeLeft, OWNER_VARIABLE, reapMarked } from '../helpers/processes.js';

const owner = `${process.env[OWNER_VARIABLE] ?? 'local'}/${randomBytes(4).toString('hex')}`;
process.env[OWNER_VARIABLE] = owner;

// Registered before the file's own hooks, so it runs after them (hooks run as a stack).
afterAll(async () => {
  const left = await reapMarked(owner, 10_000);
  if (left.length > 0)
    throw new Error(
      `this test file left ${left.length} process(es) running after its cleanup (now killed):\n${describeLeft(left)}`,
    );
}, 20_000);
