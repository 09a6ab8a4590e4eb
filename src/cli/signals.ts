// Stop gracefully on SIGTERM or SIGINT: close what runs, then exit 0.

/** Close cleanly on SIGINT or SIGTERM, once. */
export function closeOnSignals(log: { info: (obj: object, msg: string) => void }, close: () => Promise<void>): void {
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received; shutting down');
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * Shut down when the supervising process is gone, checked twice a second. The supervisor names itself
 * (GUARDGATE_PARENT_PID), so that a parent that died while this process was still starting is noticed too.
 */
export function exitWithParent(
  parent: number,
  close: () => Promise<void>,
  log?: { info: (obj: object, msg: string) => void },
): void {
  const check = () => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    log?.info({ parent }, 'parent process is gone; shutting down');
    void close().then(() => process.exit(0));
  };
  const timer = setInterval(check, 500);
  timer.unref();
  check();
}
