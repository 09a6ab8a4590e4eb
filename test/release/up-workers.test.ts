// `guardgate up --workers 2`: the release pipeline drives a cluster of router workers. Under live load a
// release passes every gate on evidence from both workers (mirrored live traffic, aggregated watch counts),
// switches with zero failed requests, and a rollback is served by every worker at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { tempDataDir } from '../helpers/instance.js';
import { failedRequests, startLiveLoad } from '../helpers/load.js';
import { predict, quickSpec, startTestUp } from '../helpers/up.js';

describe('guardgate up --workers 2', () => {
  let up: RunningUp;
  beforeAll(async () => {
    up = await startTestUp(tempDataDir(), {}, { workers: '2' });
  });
  afterAll(async () => up?.close());

  it('releases under live load through every gate with evidence from the workers, with zero failed requests; a rollback reaches every worker', async () => {
    expect((await up.router.router.status()).workers).toBe(2);
    // Until the release has ended: its shadow and watch gates feed on this traffic.
    const load = startLiveLoad(up.url);
    await up.controller.release(
      quickSpec({
        version: 'v2',
        gates: {
          shadow: { durationSeconds: 5, samples: 30, minSamples: 10, replay: false },
          load: { durationSeconds: 1, connections: 4, tolerance: { p99: 3, qps: 0.8, errorRate: 0 } },
          watch: { durationSeconds: 2, minRequests: 5 },
        },
      }),
    );
    await up.controller.settled();
    const release = (await up.controller.status()).release!;
    const result = await load.stop();
    expect(failedRequests(result)).toBe(0);
    expect(release.state, release.gates.map((g) => g.summary).join('\n')).toBe('stable');
    expect(release.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['functional', true],
      ['load', true],
      ['shadow', true],
      ['watch', true],
    ]);
    const shadow = release.gates.find((g) => g.gate === 'shadow')!.evidence as {
      sources: { mirrored: number; replayed: number };
    };
    expect(shadow.sources.mirrored).toBeGreaterThanOrEqual(10);
    expect(shadow.sources.replayed).toBe(0);
    const watch = release.gates.find((g) => g.gate === 'watch')!.evidence as { requests: number };
    expect(watch.requests).toBeGreaterThanOrEqual(5);
    await up.controller.view(await up.controller.rollback());
    const epoch = (await up.router.router.status()).epoch;
    const answers = await Promise.all(Array.from({ length: 20 }, () => predict(up.url)));
    expect(answers.filter((a) => a.color !== 'blue' || a.status !== 200 || a.epoch < epoch)).toEqual([]);
  });
});
