// A watch probe that asks Prometheus (which scrapes the router) for the new active color's error rate and p99.
import { request } from 'undici';
import type { Color } from '../vocabulary/colors.js';
import type { WatchFigures, WatchProbe } from './watch.js';

interface QueryAnswer {
  status: string;
  data?: { resultType: string; result: Array<{ value: [number, string] }> };
  error?: string;
}

/** One instant query; null when the answer is empty (no data yet) or not a number. */
export async function queryScalar(baseUrl: string, promql: string): Promise<number | null> {
  const url = new URL('/api/v1/query', baseUrl);
  url.searchParams.set('query', promql);
  const response = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const answer = (await response.body.json()) as QueryAnswer;
  if (response.statusCode !== 200 || answer.status !== 'success')
    throw new Error(`Prometheus answered ${response.statusCode}: ${answer.error ?? ''}`);
  const value = answer.data?.result[0]?.value[1];
  const number = value === undefined ? NaN : Number(value);
  return Number.isFinite(number) ? number : null;
}

/** The PromQL the probe asks, over the watch window so far (at least 5 s, so that two scrapes are in it). */
export function watchQueries(color: Color, windowSeconds: number): { requests: string; errors: string; p99: string } {
  const range = `[${Math.max(5, Math.ceil(windowSeconds))}s]`;
  const live = `color="${color}",reason="active"`;
  return {
    requests: `sum(increase(guardgate_router_requests_total{${live}}${range}))`,
    errors: `sum(increase(guardgate_router_requests_total{${live},status_code=~"5..|aborted"}${range}))`,
    p99: `histogram_quantile(0.99, sum by (le) (increase(guardgate_router_upstream_duration_seconds_bucket{color="${color}"}${range})))`,
  };
}

/** The watch gate's figures for a color read from a Prometheus that scrapes the router. */
export function prometheusProbe(baseUrl: string, color: Color): WatchProbe {
  const started = Date.now();
  return async (): Promise<WatchFigures> => {
    const queries = watchQueries(color, (Date.now() - started) / 1000);
    const [requests, errors, p99] = await Promise.all([
      queryScalar(baseUrl, queries.requests),
      queryScalar(baseUrl, queries.errors),
      queryScalar(baseUrl, queries.p99),
    ]);
    const total = requests ?? 0;
    return {
      requests: Math.round(total),
      errorRate: total > 0 ? (errors ?? 0) / total : 0,
      p99Ms: p99 === null ? null : p99 * 1000,
      source: `prometheus ${baseUrl}`,
    };
  };
}
