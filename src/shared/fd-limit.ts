// How many file descriptors this process may hold (RLIMIT_NOFILE, soft), read from /proc on Linux: every
// connection costs one, and a front door must keep some for its admin API, health checks and files.
import { readFileSync } from 'node:fs';

/** The soft "Max open files" of a /proc/<pid>/limits text, or null when it is not there or unlimited. */
export function parseOpenFilesLimit(limits: string): number | null {
  const match = /^Max open files\s+(\d+|unlimited)\s+/m.exec(limits);
  return match === null || match[1] === 'unlimited' ? null : Number(match[1]);
}

/** The process's open-files limit (null where it cannot be read). */
export function openFilesLimit(): number | null {
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Client connections the public listener may hold: each also needs an upstream connection, and a reserve
 * stays free for the admin API, health checks, logs and the audit store.
 */
export function publicConnectionBudget(fdLimit: number | null, reserve = 512): number {
  if (fdLimit === null) return 10_000;
  return Math.max(64, Math.floor((fdLimit - reserve) / 2));
}
