// Gates check which environment answered: every instance names its color and version in its answers, and a
// gate that meant the candidate but was answered by the live color (a preview Service or route that has not
// moved yet) fails, saying so, instead of validating the live version as the candidate.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningInstance } from '../../src/instance/run.js';
import { runFunctionalGate, type CaseResult } from '../../src/gates/functional.js';
import { replayCorpus } from '../../src/gates/run.js';
import { replayTo } from '../../src/gates/replay.js';
import { runShadowGate } from '../../src/gates/shadow.js';
import { loadSuite } from '../../src/gates/suite.js';
import { startTestInstance } from '../helpers/instance.js';

describe('gates check the side that answered', () => {
  let blue: RunningInstance;
  let green: RunningInstance;
  beforeAll(async () => {
    [blue, green] = await Promise.all([
      startTestInstance({ color: 'blue', serviceVersion: 'v1' }),
      startTestInstance({ color: 'green', serviceVersion: 'v2' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([blue?.shutdown(), green?.shutdown()]);
  });

  it('every answer of an instance names its color and version', async () => {
    const response = await fetch(`${blue.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello' }),
    });
    expect([response.headers.get('x-guardgate-color'), response.headers.get('x-guardgate-version')]).toEqual([
      'blue',
      'v1',
    ]);
  });

  it('the functional gate meant for green, answered by blue, fails every case with the side that answered', async () => {
    const suite = loadSuite();
    const misrouted = await runFunctionalGate(blue.url, suite, { minPassRate: 1, expectColor: 'green' });
    expect(misrouted.passed).toBe(false);
    expect(misrouted.evidence.cases.map((c: CaseResult) => c.got)).toEqual(
      suite.cases.map(() => ({ error: 'answered by blue (v1), not green' })),
    );
    const right = await runFunctionalGate(green.url, suite, { minPassRate: 1, expectColor: 'green' });
    expect(right.passed).toBe(true);
  });

  it('a case whose connection is reset (a pod evicted under the gate) is asked again, within a budget, and the retries are counted', async () => {
    // In front of green: every third request has its connection cut before any answer.
    let seen = 0;
    const flaky = createServer(async (req, res) => {
      const body = await new Promise<string>((resolve) => {
        let text = '';
        req.on('data', (d: Buffer) => (text += d.toString()));
        req.on('end', () => resolve(text));
      });
      if (++seen % 3 === 0) return void req.socket.destroy();
      const answer = await fetch(`${green.url}${req.url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      res
        .writeHead(answer.status, {
          'content-type': 'application/json',
          'x-guardgate-color': answer.headers.get('x-guardgate-color')!,
          'x-guardgate-version': answer.headers.get('x-guardgate-version')!,
        })
        .end(await answer.text());
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    try {
      const suite = loadSuite();
      const report = await runFunctionalGate(url, suite, { minPassRate: 1, expectColor: 'green' });
      expect(report.passed, report.summary).toBe(true);
      expect(report.evidence.retried).toBeGreaterThanOrEqual(5);
      expect(report.summary).toMatch(/asked again after no answer or a wrong side/);
      // Always cut: the budget runs out and the gate fails, quickly.
      seen = 2;
      const always = createServer((req) => req.socket.destroy());
      await new Promise<void>((resolve) => always.listen(0, '127.0.0.1', resolve));
      const started = Date.now();
      const broken = await runFunctionalGate(`http://127.0.0.1:${(always.address() as AddressInfo).port}`, suite, {
        minPassRate: 1,
        expectColor: 'green',
      });
      always.close();
      expect(broken.passed).toBe(false);
      expect(broken.evidence.retried).toBeLessThanOrEqual(10);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      flaky.close();
    }
  });

  it('the shadow gate whose preview still answers from the live color fails, with the evidence, and compares nothing', async () => {
    const items = replayCorpus(undefined).slice(0, 12);
    const rule = { minAgreement: 0.95, maxUnsafeToSafe: 0, minSamples: 10 };
    const colors = { active: 'blue' as const, candidate: 'green' as const };
    const lagging = await runShadowGate(
      undefined,
      {
        fraction: 0,
        durationSeconds: 0,
        targetSamples: 12,
        replay: replayTo({ url: blue.url, headers: {} }, { url: blue.url, headers: {} }, items, {}, colors),
      },
      rule,
      undefined,
      'none',
      colors,
    );
    expect(lagging.passed).toBe(false);
    expect(lagging.evidence).toMatchObject({
      samples: 0,
      misrouted: 12,
      misroutedExample: 'the candidate side was answered by blue (v1), not green',
    });
    expect(lagging.summary).toContain(
      '12 answers came from the wrong color (the candidate side was answered by blue (v1), not green)',
    );
    const sound = await runShadowGate(
      undefined,
      {
        fraction: 0,
        durationSeconds: 0,
        targetSamples: 12,
        replay: replayTo({ url: blue.url, headers: {} }, { url: green.url, headers: {} }, items, {}, colors),
      },
      rule,
      undefined,
      'none',
      colors,
    );
    expect(sound.evidence).toMatchObject({ samples: 12, misrouted: 0 });
    expect(sound.passed).toBe(true);
  });
});
