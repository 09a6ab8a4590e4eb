// The watch gate's figures from the instances' own /metrics: moderation routes only, 5xx as errors,
// histograms added up, and an instance that restarted counted from zero.
import { describe, expect, it } from 'vitest';
import { added, snapshotOf, withLastKnown } from '../../../src/gates/instances-probe.js';
import { windowFigures } from '../../../src/gates/watch.js';

const exposition = (ok: number, failed: number, fast: number) => `# HELP http_request_duration_seconds Request duration
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.01",route="/predict",method="POST",status_code="200"} ${fast}
http_request_duration_seconds_bucket{le="+Inf",route="/predict",method="POST",status_code="200"} ${ok}
http_request_duration_seconds_count{route="/predict",method="POST",status_code="200"} ${ok}
http_request_duration_seconds_bucket{le="0.01",route="/predict",method="POST",status_code="503"} 0
http_request_duration_seconds_bucket{le="+Inf",route="/predict",method="POST",status_code="503"} ${failed}
http_request_duration_seconds_count{route="/predict",method="POST",status_code="503"} ${failed}
http_request_duration_seconds_count{route="/readyz",method="GET",status_code="200"} 999
`;

describe('watch figures from the instances', () => {
  it('reads requests, errors and the histogram of the moderation routes only', () => {
    expect(snapshotOf(exposition(10, 2, 7))).toEqual({
      total: 12,
      errors: 2,
      buckets: [
        [0.01, 7],
        [Infinity, 12],
      ],
    });
  });

  it('adds instances up over the window; one that restarted counts from zero', () => {
    const before = new Map([
      ['a', snapshotOf(exposition(100, 0, 100))],
      ['b', snapshotOf(exposition(50, 0, 50))],
    ]);
    const now = new Map([
      ['a', snapshotOf(exposition(140, 4, 130))],
      ['b', snapshotOf(exposition(6, 0, 6))],
    ]);
    const { before: start, after } = added(before, now);
    const figures = windowFigures(start, after);
    expect(figures.requests).toBe(40 + 4 + 6);
    expect(figures.errorRate).toBeCloseTo(4 / 50);
    expect(figures.p99Ms).toBe(Infinity); // 36 of 50 under 10 ms: the 99th percentile is above the last bound
  });

  it('an instance that stops answering mid-watch (a pod evicted) keeps its last counts; none answering is an error', () => {
    const a = snapshotOf(exposition(10, 0, 10));
    const b = snapshotOf(exposition(5, 0, 5));
    const first = withLastKnown(new Map(), [
      ['http://a', a],
      ['http://b', b],
    ]);
    const later = withLastKnown(first, [
      ['http://a', snapshotOf(exposition(20, 0, 20))],
      ['http://b', new Error('fetch failed')],
      ['http://c', snapshotOf(exposition(3, 0, 3))],
    ]);
    expect([...later.entries()].map(([url, s]) => [url, s.total])).toEqual([
      ['http://a', 20],
      ['http://b', 5],
      ['http://c', 3],
    ]);
    expect(() => withLastKnown(later, [['http://a', new Error('fetch failed')]])).toThrow('fetch failed');
  });
});
