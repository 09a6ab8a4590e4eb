// The router's hot-path metrics expose exactly what prom-client's own Counter and Histogram expose for the
// same events, alone and aggregated across workers.
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from '../../../src/router/hot-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const LATENCIES = [0.0004, 0.001, 0.003, 0.05, 0.05, 0.7, 3, 0.0099];

function both() {
  const [hot, reference] = [new Registry(), new Registry()];
  const counter = new HotCounter('requests_total', 'Requests', ['color', 'status_code'], hot);
  const histogram = new HotHistogram('latency_seconds', 'Latency', 'color', BUCKETS, hot);
  const refCounter = new Counter({
    name: 'requests_total',
    help: 'Requests',
    labelNames: ['color', 'status_code'],
    registers: [reference],
  });
  const refHistogram = new Histogram({
    name: 'latency_seconds',
    help: 'Latency',
    labelNames: ['color'],
    buckets: BUCKETS,
    registers: [reference],
  });
  LATENCIES.forEach((seconds, i) => {
    const color = i % 3 === 0 ? 'green' : 'blue';
    const status = i % 4 === 0 ? 503 : 200;
    counter.inc(color, status);
    refCounter.inc({ color, status_code: status });
    histogram.observe(color, seconds);
    refHistogram.observe({ color }, seconds);
  });
  return { hot, reference };
}

/** The exposition with its lines sorted: series order is not part of the format. */
const lines = (text: string) => text.split('\n').filter(Boolean).sort();

describe('hot-path metrics', () => {
  it("expose the same text as prom-client's Counter and Histogram", async () => {
    const { hot, reference } = both();
    expect(lines(await hot.metrics())).toEqual(lines(await reference.metrics()));
  });

  it('aggregate across workers as prom-client does', async () => {
    const workers = [both(), both()];
    const hot = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.hot.getMetricsAsJSON())));
    const reference = AggregatorRegistry.aggregate(
      await Promise.all(workers.map((w) => w.reference.getMetricsAsJSON())),
    );
    expect(lines(await hot.metrics())).toEqual(lines(await reference.metrics()));
    expect(await hot.metrics()).toMatch(/requests_total\{color="blue",status_code="200"\} 8/);
  });
});
