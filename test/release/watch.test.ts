// The watch gate: its pure judgement, and a watch that reads Prometheus (from Debian, scraping the router)
// and rolls a bad release back.
import { afterAll, describe, expect, it } from 'vitest';
import { judgeWatch, p99FromBuckets, windowFigures, type WatchRule } from '../../src/gates/watch.js';
import { watchQueries } from '../../src/gates/prometheus.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { until } from '../helpers/router.js';
import { requireService } from '../helpers/services.js';
import { predict, quickSpec, startTestUp } from '../helpers/up.js';
import type { RunningUp } from '../../src/app/up.js';

const rule: WatchRule = { durationSeconds: 10, maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 10 };

describe('watch judgement', () => {
  it('p99 is the upper bound of the first bucket that holds 99% of the requests', () => {
    expect(
      p99FromBuckets(
        [
          [0.01, 50],
          [0.1, 99],
          [1, 100],
          [Infinity, 100],
        ],
        100,
      ),
    ).toBe(100);
    expect(p99FromBuckets([[0.01, 0]], 0)).toBeNull();
  });

  it('counts only the window between two snapshots', () => {
    const before = {
      total: 100,
      errors: 5,
      buckets: [
        [0.01, 90],
        [0.1, 100],
        [Infinity, 100],
      ] as Array<[number, number]>,
    };
    const after = {
      total: 300,
      errors: 7,
      buckets: [
        [0.01, 290],
        [0.1, 300],
        [Infinity, 300],
      ] as Array<[number, number]>,
    };
    expect(windowFigures(before, after)).toEqual({ requests: 200, errorRate: 0.01, p99Ms: 10, source: 'router' });
  });

  it('fails on errors or latency over the limits, and not below the minimum of requests', () => {
    expect(judgeWatch({ requests: 100, errorRate: 0.02, p99Ms: 20, source: 'x' }, rule).reasons).toEqual([
      'error rate 2.00% is over 1.00%',
    ]);
    expect(judgeWatch({ requests: 100, errorRate: 0, p99Ms: 900, source: 'x' }, rule).reasons).toEqual([
      'p99 900 ms is over 500 ms',
    ]);
    expect(judgeWatch({ requests: 5, errorRate: 1, p99Ms: 900, source: 'x' }, rule).reasons).toEqual([]);
  });

  it('asks Prometheus about the live traffic of one color over the window', () => {
    const queries = watchQueries('green', 2);
    expect(queries.requests).toBe('sum(increase(guardgate_router_requests_total{color="green",reason="active"}[5s]))');
    expect(queries.errors).toContain('status_code=~"5..|aborted"');
    expect(queries.p99).toContain('histogram_quantile(0.99');
  });
});

describe('watch through Prometheus', () => {
  let up: RunningUp | undefined;
  let fake: FakeOpenAI | undefined;
  let prometheus: RunningPrometheus | undefined;
  afterAll(async () => {
    await prometheus?.stop();
    await up?.close();
    await fake?.close();
  });

  it('rolls back when Prometheus sees the new version fail', async (context) => {
    if (
      !requireService(await prometheusInstalled(), 'prometheus (Debian package prometheus)', (note) =>
        context.skip(note),
      )
    )
      return;
    [up, fake] = await Promise.all([startTestUp(), startFakeOpenAI()]);
    prometheus = await startPrometheus([new URL(up.adminUrl).host]);
    await up.controller.release(
      quickSpec({
        version: 'v2-openai',
        engine: { kind: 'openai', baseUrl: fake.baseUrl, timeoutMs: 2_000, retries: 0 },
        gates: {
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { durationSeconds: 20, minRequests: 5, maxErrorRate: 0.05, prometheus: { url: prometheus.url } },
        },
      }),
    );
    await until(async () => (await up!.controller.status()).release?.state === 'watching', 20_000);
    fake.behaviour = { kind: 'status', status: 500 };
    // Failing traffic until the watch notices (a scrape a second, so within a few seconds).
    await until(
      async () => {
        await Promise.all(Array.from({ length: 5 }, () => predict(up!.url, 'hello')));
        return (await up!.controller.status()).release?.state !== 'watching';
      },
      30_000,
      'the watch to end on the failing traffic (well before its 20 s)',
    );
    await up.controller.settled();
    const release = (await up.controller.status()).release!;
    expect(release.state).toBe('rolled_back');
    expect(release.note).toMatch(/^watch failed: .*from prometheus .*error rate/);
    expect((await up.controller.status()).active).toBe('blue');
  });
});
