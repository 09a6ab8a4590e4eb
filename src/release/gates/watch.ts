// The watch gate: after the switch, for a window, the new active color's error rate and p99 from the
// router's own metrics; a breach fails the gate at once (and the controller rolls back).
import type { RouterMetrics } from '../../router/metrics.js';
import type { Color } from '../../router/routing.js';
import type { GateReport } from './report.js';

export interface WatchRule {
  durationSeconds: number;
  /** Share of requests answered 5xx (or aborted), at most. */
  maxErrorRate: number;
  /** Upstream p99 in milliseconds, at most. */
  maxP99Ms: number;
  /** Below this many requests in the window the rates are not judged (too little to tell). */
  minRequests: number;
}

export interface WatchSnapshot {
  total: number;
  errors: number;
  /** Cumulative histogram buckets: [upper bound in seconds, count]. */
  buckets: Array<[number, number]>;
}

export interface WatchEvidence {
  requests: number;
  errorRate: number;
  p99Ms: number | null;
  rule: WatchRule;
  reasons: string[];
}

/** The p99 upper bound from cumulative bucket counts. Pure. */
export function p99FromBuckets(buckets: Array<[number, number]>, total: number): number | null {
  if (total === 0) return null;
  for (const [bound, count] of buckets) if (count >= 0.99 * total) return bound * 1000;
  return Infinity;
}

/** Judge the window between two snapshots. Pure. */
export function evaluateWatch(before: WatchSnapshot, after: WatchSnapshot, rule: WatchRule): WatchEvidence {
  const requests = after.total - before.total;
  const errors = after.errors - before.errors;
  const buckets = after.buckets.map(([bound, count], i) => [bound, count - (before.buckets[i]?.[1] ?? 0)] as [number, number]);
  const timed = buckets.length ? buckets[buckets.length - 1]![1] : 0;
  const p99Ms = p99FromBuckets(buckets, timed);
  const errorRate = requests === 0 ? 0 : errors / requests;
  const reasons: string[] = [];
  if (requests >= rule.minRequests) {
    if (errorRate > rule.maxErrorRate) reasons.push(`error rate ${(100 * errorRate).toFixed(2)}% is over ${(100 * rule.maxErrorRate).toFixed(2)}%`);
    if (p99Ms !== null && p99Ms > rule.maxP99Ms) reasons.push(`p99 ${p99Ms} ms is over ${rule.maxP99Ms} ms`);
  }
  return { requests, errorRate, p99Ms, rule, reasons };
}

/** The active color's counts from the router's metrics. */
export async function watchSnapshot(metrics: RouterMetrics, color: Color): Promise<WatchSnapshot> {
  const requests = await metrics.requests.get();
  let total = 0;
  let errors = 0;
  for (const { labels, value } of requests.values) {
    if (labels.color !== color || labels.reason !== 'active') continue;
    total += value;
    if (String(labels.status_code).startsWith('5') || labels.status_code === 'aborted') errors += value;
  }
  const histogram = await metrics.upstreamDuration.get();
  const buckets = histogram.values
    .filter((v) => v.metricName === 'guardgate_router_upstream_duration_seconds_bucket' && v.labels.color === color)
    .map((v) => {
      const le = (v.labels as Record<string, string | number>).le;
      return [le === '+Inf' ? Infinity : Number(le), v.value] as [number, number];
    })
    .sort((a, b) => a[0] - b[0]);
  return { total, errors, buckets };
}

/** Watch for the window, checking every second; a breach ends the watch early, failed. */
export async function runWatchGate(metrics: RouterMetrics, color: Color, rule: WatchRule, signal?: AbortSignal): Promise<GateReport<WatchEvidence>> {
  const startedAt = new Date().toISOString();
  const before = await watchSnapshot(metrics, color);
  const deadline = Date.now() + rule.durationSeconds * 1000;
  let evidence = evaluateWatch(before, before, rule);
  while (Date.now() < deadline && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, deadline - Date.now()))));
    evidence = evaluateWatch(before, await watchSnapshot(metrics, color), rule);
    if (evidence.reasons.length > 0) break;
  }
  return {
    gate: 'watch',
    passed: evidence.reasons.length === 0,
    summary: `${evidence.requests} requests, ${(100 * evidence.errorRate).toFixed(2)}% errors, p99 ${evidence.p99Ms ?? '-'} ms${evidence.reasons.length ? `: ${evidence.reasons.join('; ')}` : ''}`,
    evidence,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}
