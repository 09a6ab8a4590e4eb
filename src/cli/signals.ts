// Stop gracefully on SIGTERM or SIGINT: close what runs, then exit 0.

export function closeOnSignals(log: { info: (obj: object, msg: string) => void }, close: () => Promise<void>): void {
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received; shutting down');
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
