// Run a setup step once; if it fails, the next caller tries again (a database that was down at start).

/** A step run once; after a failure, tried again on the next call. */
export function onceUntilFailure(step: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () =>
    (running ??= step().catch((error: unknown) => {
      running = undefined;
      throw error;
    }));
}
