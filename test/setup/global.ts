// Once per run (globalSetup): a run id every test file's marker starts with (it names this run's vitest
// process), and a last sweep at the end that kills and reports any process of this run still alive (a file
// that crashed before its own check). Vitest does not fail a run on an error thrown here, so the sweep sets
// the exit code itself. At the start, processes left by an earlier run that was killed (its vitest process is
// gone, so no teardown ran) are ended too, and said.
import { randomBytes } from 'node:crypto';
import { describeLeft, markedProcesses, OWNER_VARIABLE, reapMarked } from '../helpers/processes.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export default function setup(): () => Promise<void> {
  const orphans = markedProcesses('run-').filter((p) => !alive(Number(/^run-(\d+)-/.exec(p.owner)?.[1] ?? 0)));
  for (const { pid } of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  if (orphans.length > 0)
    process.stderr.write(
      `\nended ${orphans.length} process(es) left by an earlier test run that was killed:\n${describeLeft(orphans)}\n`,
    );
  const run = `run-${process.pid}-${randomBytes(4).toString('hex')}`;
  process.env[OWNER_VARIABLE] = run;
  return async () => {
    const left = await reapMarked(`${run}/`, 5_000);
    if (left.length === 0) return;
    process.stderr.write(
      `\nFAIL: the test run left ${left.length} process(es) running (now killed):\n${describeLeft(left)}\n`,
    );
    process.exitCode = 1;
  };
}
