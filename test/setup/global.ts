// Once per run (globalSetup): a run id every test file's marker starts with, and a last sweep at the end that
// kills and reports any process of this run still alive (a file that crashed before its own check). Vitest
// does not fail a run on an error thrown here, so the sweep sets the exit code itself.
import { randomBytes } from 'node:crypto';
import { describeLeft, OWNER_VARIABLE, reapMarked } from '../helpers/processes.js';

export default function setup(): () => Promise<void> {
  const run = `run-${randomBytes(4).toString('hex')}`;
  process.env[OWNER_VARIABLE] = run;
  return async () => {
    const left = await reapMarked(`${run}/`, 5_000);
    if (left.length === 0) return;
    process.stderr.write(`\nFAIL: the test run left ${left.length} process(es) running (now killed):\n${describeLeft(left)}\n`);
    process.exitCode = 1;
  };
}
