// The watch gate: after the switch, for a window, the new active color's error rate and p99 from the
// router's own metrics; a breach fails the gate at once (and the controller rolls back).
import type { RouterControl } from '../router/control.js';
import type { Color } from '../vocabulary/colors.js';
import type { GateReport } from './report.js';

/** What the watch gate requires of the new active color after the switch. */
export interface WatchRule {
  durationSeconds: number;
  /** Share of requests answered 5xx (or aborted), at most. */
  maxErrorRate: number;
  /** Upstream p99 in milliseconds, at most. */
  maxP99Ms: number;
  /** Fewer requests in the window than this is not evidence: the gate is inconclusive (rates are judged anyway). */
  minRequests: number;
}

/** Counters read at one moment: the watch gate compares two snapshots. */
export interface WatchSnapshot {
  total: number;
  errors: number;
  /** Cumulative histogram buckets: [upper bound in seconds, count]. */
  buckets: Array<[number, number]>;
}

/** The watch gate's evidence: requests, errors and p99 over the window. */
export interface WatchEvidence extends WatchFigures {
  rule: WatchRule;
  reasons: string[];
}

/** The p99 upper bound from cumulative bucket counts. Pure. */
export function p99FromBuckets(buckets: Array<[number, number]>, total: number): number | null {
  if (total === 0) return null;
  for (const [bound, count] of buckets) if (count >= 0.99 * total) return bound * 1000;
  return Infinity;
}

/** What a probe reads for the window so far. */
export interface WatchFigures {
  requests: number;
  errorRate: number;
  p99Ms: number | null;
  /** Where the figures came from: the router, or a Prometheus server. */
  source: string;
}

/** Judge the window's figures against the rule. Pure. */
export function judgeWatch(figures: WatchFigures, rule: WatchRule): WatchEvidence {
  const reasons: string[] = [];
  if (figures.requests >= rule.minRequests) {
    if (figures.errorRate > rule.maxErrorRate)
      reasons.push(
        `error rate ${(100 * figures.errorRate).toFixed(2)}% is over ${(100 * rule.maxErrorRate).toFixed(2)}%`,
      );
    if (figures.p99Ms !== null && figures.p99Ms > rule.maxP99Ms)
      reasons.push(`p99 ${figures.p99Ms} ms is over ${rule.maxP99Ms} ms`);
  }
  return { ...figures, rule, reasons };
}

/** The figures of the window between two router snapshots. Pure. */
export function windowFigures(before: WatchSnapshot, after: WatchSnapshot): WatchFigures {
  const requests = after.total - before.total;
  const errors = after.errors - before.errors;
  const buckets = after.buckets.map(
    ([bound, count], i) => [bound, count - (before.buckets[i]?.[1] ?? 0)] as [number, number],
  );
  const timed = buckets.length ? buckets[buckets.length - 1]![1] : 0;
  return {
    requests,
    errorRate: requests === 0 ? 0 : errors / requests,
    p99Ms: p99FromBuckets(buckets, timed),
    source: 'router',
  };
}

/** Reads the watch window's figures, from wherever they live. */
export type WatchProbe = () => Promise<WatchFigures>;

/** The router's own metrics for one color, counted from the moment the probe is made. */
export async function routerProbe(
  router: Pick<RouterControl, 'traffic' | 'latencyBuckets'>,
  color: Color,
): Promise<WatchProbe> {
  const before = await watchSnapshot(router, color);
  return async () => windowFigures(before, await watchSnapshot(router, color));
}

/** The active color's counts from the router's metrics (every worker's, in a cluster). */
export async function watchSnapshot(
  router: Pick<RouterControl, 'traffic' | 'latencyBuckets'>,
  color: Color,
): Promise<WatchSnapshot> {
  const { total, errors } = (await router.traffic('active'))[color];
  return { total, errors, buckets: await router.latencyBuckets(color) };
}

/** Watch for the window, checking every second; a breach ends the watch early, failed. */
export async function runWatchGate(
  probe: WatchProbe,
  rule: WatchRule,
  signal?: AbortSignal,
  onProgress?: (line: string) => void,
): Promise<GateReport<WatchEvidence>> {
  const startedAt = new Date().toISOString();
  const deadline = Date.now() + rule.durationSeconds * 1000;
  let evidence = judgeWatch({ requests: 0, errorRate: 0, p99Ms: null, source: 'none yet' }, rule);
  while (Date.now() < deadline && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, deadline - Date.now()))));
    try {
      evidence = judgeWatch(await probe(), rule);
    } catch (error) {
      // A watch that cannot see is not a pass: it fails, and the release rolls back.
      evidence = { ...evidence, reasons: [`cannot read the watch metrics: ${(error as Error).message}`] };
    }
    if (evidence.reasons.length > 0) break;
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    onProgress?.(
      `${evidence.requests} requests (${rule.minRequests} needed), ${(100 * evidence.errorRate).toFixed(2)}% errors, p99 ${evidence.p99Ms === null ? 'not yet known' : `${evidence.p99Ms} ms`}; ${left} s left`,
    );
  }
  const inconclusive = evidence.reasons.length === 0 && evidence.requests < rule.minRequests;
  return {
    gate: 'watch',
    passed: evidence.reasons.length === 0 && !inconclusive,
    inconclusive,
    samples: evidence.requests,
    summary: `${evidence.requests} requests, ${(100 * evidence.errorRate).toFixed(2)}% errors, p99 ${evidence.p99Ms ?? '-'} ms (from ${evidence.source})${evidence.reasons.length ? `: ${evidence.reasons.join('; ')}` : inconclusive ? `: INCONCLUSIVE, ${evidence.requests} of the ${rule.minRequests} requests needed` : ''}`,
    evidence,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}
