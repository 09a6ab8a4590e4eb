// Child processes a test file starts through the helpers end when the file ends, pass or fail: what its own
// cleanup did not stop gets SIGTERM, then SIGKILL after a grace period. (test/setup/processes.ts then checks
// that nothing of the file is left, whoever started it.)
import type { ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';

const children = new Set<ChildProcess>();

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/** Ends a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function endChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(forced);
}

/** Registers a child to be ended with the test file at the latest; returns it. */
export function owned<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

afterAll(async () => {
  await Promise.all([...children].map((child) => endChild(child)));
}, 15_000);
