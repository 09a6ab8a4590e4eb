// The dashboard's live figures from instances' /metrics (pure): rates over the interval, the P99 of the interval's
// requests only, the cache hit rate, and an instance that restarted counted from zero, not as negative traffic.
import { describe, expect, it } from 'vitest';
import { colorPoint, liveSnapshotOf } from '../../../src/app/live.js';
import { configHashOf } from '../../../src/release/views.js';

const exposition = (requests: number, fast: number, errors: number, hits: number, misses: number) =>
  [
    `http_request_duration_seconds_bucket{le="0.005",route="/predict",method="POST",status_code="200"} ${fast}`,
    `http_request_duration_seconds_bucket{le="0.5",route="/predict",method="POST",status_code="200"} ${requests - errors}`,
    `http_request_duration_seconds_bucket{le="+Inf",route="/predict",method="POST",status_code="200"} ${requests - errors}`,
    `http_request_duration_seconds_count{route="/predict",method="POST",status_code="200"} ${requests - errors}`,
    `http_request_duration_seconds_bucket{le="0.005",route="/predict",method="POST",status_code="503"} ${errors}`,
    `http_request_duration_seconds_bucket{le="0.5",route="/predict",method="POST",status_code="503"} ${errors}`,
    `http_request_duration_seconds_bucket{le="+Inf",route="/predict",method="POST",status_code="503"} ${errors}`,
    `http_request_duration_seconds_count{route="/predict",method="POST",status_code="503"} ${errors}`,
    `http_request_duration_seconds_count{route="/readyz",method="GET",status_code="200"} 999`,
    `guardgate_cache_requests_total{result="hit"} ${hits}`,
    `guardgate_cache_requests_total{result="miss"} ${misses}`,
  ].join('\n');

describe('live figures', () => {
  it("reads an instance's moderation requests, latency histogram and cache lookups", () => {
    expect(liveSnapshotOf(exposition(100, 90, 2, 30, 70))).toMatchObject({
      total: 100,
      errors: 2,
      cacheHits: 30,
      cacheLookups: 100,
    });
  });

  it('gives the interval rates: requests/s, error rate, P99 of the interval, cache hit rate; a restarted instance counts from zero', () => {
    const before = new Map([['a', liveSnapshotOf(exposition(100, 100, 0, 0, 100))]]);
    // 200 more requests in 2 s, all slow, 4 of them errors; 150 of 200 lookups hit.
    const now = new Map([['a', liveSnapshotOf(exposition(300, 100, 4, 150, 150))]]);
    expect(colorPoint(before, now, 2)).toEqual({
      instances: 1,
      rps: 100,
      errorRate: 0.02,
      p99Ms: 500,
      cacheHitRate: 0.75,
    });
    const restarted = new Map([['a', liveSnapshotOf(exposition(10, 10, 0, 5, 5))]]);
    expect(colorPoint(now, restarted, 1)).toMatchObject({ rps: 10, cacheHitRate: 0.5, p99Ms: 5 });
    expect(colorPoint(now, now, 1)).toMatchObject({ rps: 0, errorRate: 0, p99Ms: null, cacheHitRate: null });
  });

  it('hashes an environment by its configuration, not its color', () => {
    const spec = {
      color: 'blue' as const,
      version: 'v1',
      engine: { kind: 'lexicon' as const },
      policy: 'strict' as const,
      replicas: 1,
    };
    expect(configHashOf(spec)).toBe(configHashOf({ ...spec, color: 'green' }));
    expect(configHashOf(spec)).toBe(
      configHashOf({ replicas: 1, policy: 'strict', engine: { kind: 'lexicon' }, version: 'v1', color: 'blue' }),
    );
    expect(configHashOf(spec)).not.toBe(configHashOf({ ...spec, policy: 'loose' }));
  });
});
