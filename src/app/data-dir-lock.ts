// One `guardgate up` per data directory. Two would share its state (controller.sqlite) with no one to say which
// is right, and the second, stopping, would remove the controller.json the CLI finds the first one by. The lock
// is a file holding the holder's pid, created exclusively; one left by an `up` that was killed (its pid no
// longer runs) is taken over.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processRuns } from '../shared/pid.js';

/** Another `up` holds the data directory. */
export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    /** The holder's pid; undefined while the holder is still writing it. */
    readonly pid: number | undefined,
  ) {
    super(
      `the data directory ${dataDir} is in use by ${pid === undefined ? 'a guardgate up that is starting' : `guardgate up (pid ${pid})`}: stop that one, or start this one with another --data-dir (and other ports)`,
    );
    this.name = 'DataDirInUse';
  }
}

const lockFile = (dataDir: string): string => join(dataDir, 'up.lock');

/** The pid a lock file names, if it names one. */
function holderOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** When a file was last written (0 when it is gone). */
function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Takes the data directory for this process; returns what gives it back. Throws DataDirInUse when another running
 * process holds it. A lock naming this very process (an `up` of this process that was not closed) is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = lockFile(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return () => {
        if (holderOf(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = holderOf(file);
      if (pid !== undefined && pid !== process.pid && processRuns(pid)) throw new DataDirInUse(dataDir, pid);
      // A lock with no pid yet is being written, unless it is old: an up killed between creating and writing it.
      if (pid === undefined && Date.now() - mtimeOf(file) < 5_000) throw new DataDirInUse(dataDir, undefined);
      rmSync(file, { force: true });
    }
  }
  throw new Error(`the data directory ${dataDir} could not be locked: another up keeps taking it`);
}
