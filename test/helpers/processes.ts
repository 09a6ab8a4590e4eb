// Every process a test starts ends with that test (ARCHITECTURE promise 13). Each test file marks the
// processes it starts through an environment variable they inherit (and pass on to theirs), so that what is
// left running can be found in /proc, ended and named, whichever way it was started.
import { readdirSync, readFileSync } from 'node:fs';

/** Names the test file that started a process: `<run id>/<file id>`. */
export const OWNER_VARIABLE = 'GUARDGATE_TEST_OWNER';

/** The marker to pass on where a test builds a child's environment from nothing (`env: {...}` without process.env). */
export const ownerEnv = (): Record<string, string> => {
  const owner = process.env[OWNER_VARIABLE];
  return owner === undefined ? {} : { [OWNER_VARIABLE]: owner };
};

export interface MarkedProcess {
  pid: number;
  /** Its marker: `<run id>/<file id>`. */
  owner: string;
  command: string;
}

/** The running processes (zombies excluded) whose marker starts with `prefix`; none where /proc cannot be read. */
export function markedProcesses(prefix: string): MarkedProcess[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const found: MarkedProcess[] = [];
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      const marker = environ.split('\0').find((entry) => entry.startsWith(`${OWNER_VARIABLE}=`));
      const owner = marker?.slice(OWNER_VARIABLE.length + 1);
      if (owner === undefined || !owner.startsWith(prefix)) continue;
      // A zombie has already ended: its parent only has not reaped it yet.
      if (/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'))) continue;
      found.push({
        pid,
        owner,
        command: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim().slice(0, 200),
      });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/**
 * Waits up to `graceMs` for the marked processes to end on their own (a server still closing), then kills
 * what is left with SIGKILL and returns it: an empty list means the test ended everything it started.
 */
export async function reapMarked(prefix: string, graceMs: number): Promise<MarkedProcess[]> {
  const deadline = Date.now() + graceMs;
  let left = markedProcesses(prefix);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = markedProcesses(prefix);
  }
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return left;
}

export const describeLeft = (left: readonly MarkedProcess[]): string =>
  left.map((p) => `  pid ${p.pid}: ${p.command}`).join('\n');
