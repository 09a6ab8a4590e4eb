// Whether a process runs, by its pid: how a file that names its writer's pid (a journal, a lock) is known to be
// left over. A pid the system has given to another process since reads as running: the file then waits.

/** Whether a process runs with this pid (EPERM: it runs, as another user). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
