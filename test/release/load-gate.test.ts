// The load gate's judgement: a candidate fails when it is slower or serves less than the live version beyond
// the tolerance, or errs; a few milliseconds of p99 are noise, never a failure.
import { describe, expect, it } from 'vitest';
import { combineSlices, compareLoad, measureLoad, P99_SLACK_MS, sliceOrder, type LoadFigures } from '../../src/release/gates/load.js';
import { parseReleaseSpec } from '../../src/release/spec.js';
import { until } from '../helpers/router.js';

const figures = (p99: number, qps = 5_000, errorRate = 0): LoadFigures => ({ requests: qps * 5, failed: 0, qps, p50: p99 / 3, p99, errorRate });
const tolerance = { p99: 0.5, qps: 0.3, errorRate: 0 };

describe('compareLoad', () => {
  it('passes a candidate within the tolerance, and one a few milliseconds slower at p99 (noise)', () => {
    expect(compareLoad(figures(3), figures(4.4), tolerance)).toEqual([]);
    expect(compareLoad(figures(3), figures(3 + P99_SLACK_MS), tolerance)).toEqual([]); // 5 ms against 3 ms was seen for the same build
  });

  it('fails a slower candidate, one that serves less, and one that errs, saying why', () => {
    expect(compareLoad(figures(3), figures(30), tolerance)).toEqual(['p99 30 ms is over 8.0 ms (active 3 ms + 50%, at least + 5 ms)']);
    expect(compareLoad(figures(40), figures(70), tolerance)).toEqual(['p99 70 ms is over 60.0 ms (active 40 ms + 50%, at least + 5 ms)']);
    expect(compareLoad(figures(3, 5_000), figures(3, 3_000), tolerance)).toEqual(['QPS 3000 is under 3500 (active 5000 - 30%)']);
    expect(compareLoad(figures(3), figures(3, 5_000, 0.01), tolerance)).toEqual(['error rate 1.00% is over 0.00%']);
  });

  it('measures both sides in alternating slices, and combines each side: requests added, latency of the median slice', () => {
    expect(sliceOrder(3)).toEqual(['active', 'candidate', 'candidate', 'active', 'active', 'candidate']);
    const combined = combineSlices([figures(3, 5_000), figures(40, 1_000), figures(4, 4_000)], 15);
    expect(combined).toMatchObject({ requests: 50_000, qps: 50_000 / 15, p99: 4 });
  });
});

describe('a gate past its deadline', () => {
  it('stops sending: the load ends when its signal aborts, not when its duration would', async () => {
    const { createServer } = await import('node:http');
    let served = 0;
    let fifty!: () => void;
    const reachedFifty = new Promise<void>((resolve) => (fifty = resolve));
    const server = createServer((_req, res) => {
      if (++served === 50) fifty();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const stop = new AbortController();
    const started = Date.now();
    const load = measureLoad(url, { durationSeconds: 600, connections: 2, signal: stop.signal });
    await reachedFifty;
    stop.abort();
    await expect(load).rejects.toThrow(/stopped/);
    const atStop = served;
    // Once every client connection is closed nothing more can arrive: wait for that, not for time.
    await until(() => new Promise<boolean>((resolve) => server.getConnections((_error, count) => resolve(count === 0))), 10_000);
    expect(served - atStop).toBeLessThanOrEqual(2); // at most the requests in flight
    expect(Date.now() - started).toBeLessThan(60_000);
    server.close();
  });

  it('refuses settings that would run for hours or open thousands of connections', () => {
    expect(() => parseReleaseSpec({ version: 'x', gates: { load: { durationSeconds: 3_000_000 } } }, 'test')).toThrow(/durationSeconds/);
    expect(() => parseReleaseSpec({ version: 'x', gates: { load: { connections: 100_000 } } }, 'test')).toThrow(/connections/);
  });
});
