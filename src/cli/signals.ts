// Stop gracefully on SIGTERM or SIGINT: close what runs, then exit 0.

export function closeOnSignals(log: { info: (obj: object, msg: string) => void }, close: () => Promise<void>): void {
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received; shutting down');
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Shut down when the parent process is gone (this process was re-parented), checked twice a second. */
export function exitWithParent(log: { info: (obj: object, msg: string) => void }, close: () => Promise<void>): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    log.info({ parent }, 'parent process is gone; shutting down');
    void close().then(() => process.exit(0));
  }, 500);
  timer.unref();
}
