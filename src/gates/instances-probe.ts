// The watch gate's and a canary's figures read from the instances themselves (each one's /metrics), for traffic
// that does not pass through the router (a Kubernetes Service or Gateway): users' requests to the moderation
// routes (not the gates' evidence, not mirrored copies), those answered 5xx, and the latency histogram, added up
// over the instances.
import { windowFigures, type WatchProbe, type WatchSnapshot } from './watch.js';

const ROUTES = new Set(['/predict', '/v1/moderations']);
const SERIES = /^http_request_duration_seconds_(bucket|count)\{([^}]*)\} ([0-9.eE+-]+|\+Inf|NaN)$/;

/** One instance's counts from its Prometheus exposition. Pure. */
export function snapshotOf(exposition: string): WatchSnapshot {
  let total = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  for (const line of exposition.split('\n')) {
    const match = SERIES.exec(line);
    if (match === null) continue;
    const labels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!ROUTES.has(labels.route ?? '')) continue;
    // Evidence (gates, replays) and mirrored copies are not users' traffic (an instance before 1.5 says nothing).
    if (labels.traffic !== undefined && labels.traffic !== 'live') continue;
    const value = Number(match[3]);
    if (match[1] === 'count') {
      total += value;
      if ((labels.status_code ?? '').startsWith('5')) errors += value;
    } else {
      const bound = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
    }
  }
  return { total, errors, buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]) };
}

/** Snapshots added up. Pure. */
function sum(snapshots: readonly WatchSnapshot[]): WatchSnapshot {
  const buckets = new Map<number, number>();
  for (const s of snapshots)
    for (const [bound, count] of s.buckets) buckets.set(bound, (buckets.get(bound) ?? 0) + count);
  return {
    total: snapshots.reduce((a, s) => a + s.total, 0),
    errors: snapshots.reduce((a, s) => a + s.errors, 0),
    buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]),
  };
}

/** Counts added up over instances; an instance that restarted (its counts went down) counts from zero. Pure. */
export function added(
  before: Map<string, WatchSnapshot>,
  now: Map<string, WatchSnapshot>,
): { before: WatchSnapshot; after: WatchSnapshot } {
  const empty: WatchSnapshot = { total: 0, errors: 0, buckets: [] };
  const starts = [...now.keys()].map((url) => {
    const then = before.get(url);
    return then === undefined || then.total > now.get(url)!.total ? empty : then;
  });
  return { before: sum(starts), after: sum([...now.values()]) };
}

async function read(url: string, token: string | undefined): Promise<WatchSnapshot> {
  const response = await fetch(`${url}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(2_000),
  });
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  return snapshotOf(await response.text());
}

/**
 * The instances' counts now: an instance that does not answer (a pod evicted or replaced mid-watch) keeps the
 * counts it last showed, so that what it served still counts; none answering at all is no evidence. Pure.
 */
export function withLastKnown(
  last: ReadonlyMap<string, WatchSnapshot>,
  reads: ReadonlyArray<readonly [string, WatchSnapshot | Error]>,
): Map<string, WatchSnapshot> {
  const answered = reads.filter((r): r is readonly [string, WatchSnapshot] => !(r[1] instanceof Error));
  if (reads.length > 0 && answered.length === 0) throw reads[0]![1] as Error;
  const now = new Map(last);
  for (const [url, snapshot] of answered) now.set(url, snapshot);
  return now;
}

/**
 * What restarted instances counted before they restarted (their counts went down), added to what they had
 * counted so far (`carried`): a running total that never goes down. Pure.
 */
export function carriedOver(
  carried: WatchSnapshot,
  last: ReadonlyMap<string, WatchSnapshot>,
  now: ReadonlyMap<string, WatchSnapshot>,
): WatchSnapshot {
  const restarted = [...now.entries()]
    .filter(([url, s]) => (last.get(url)?.total ?? 0) > s.total)
    .map(([url]) => last.get(url)!);
  return restarted.length === 0 ? carried : sum([carried, ...restarted]);
}

/**
 * A running total over the instances `urls()` names (read again at each look: pods come and go): each read adds
 * every instance's counts; one that does not answer keeps its last, one that restarted keeps what it counted.
 */
export function instancesReader(urls: () => string[], token: string | undefined): () => Promise<WatchSnapshot> {
  let last = new Map<string, WatchSnapshot>();
  let carried: WatchSnapshot = { total: 0, errors: 0, buckets: [] };
  return async () => {
    const reads = await Promise.all(
      urls().map(async (url) => [url, await read(url, token).catch((error: Error) => error)] as const),
    );
    const now = withLastKnown(last, reads);
    carried = carriedOver(carried, last, now);
    last = now;
    return sum([carried, ...now.values()]);
  };
}

/** A probe over the instances `urls()` names (read again at each look: pods come and go). */
export async function instancesProbe(urls: () => string[], token: string | undefined): Promise<WatchProbe> {
  let last = new Map<string, WatchSnapshot>();
  const readAll = async () => {
    last = withLastKnown(
      last,
      await Promise.all(
        urls().map(async (url) => [url, await read(url, token).catch((error: Error) => error)] as const),
      ),
    );
    return last;
  };
  const start = await readAll();
  return async () => {
    const { before, after } = added(start, await readAll());
    return { ...windowFigures(before, after), source: 'instances' };
  };
}
