// POST /admin/gates/run on `guardgate up`: the gates on demand against the deployment's own endpoints, as
// Argo Rollouts' web metric provider calls them: 200 with pass true or false whenever the gates could judge,
// 4xx for a request that names what it may not, 5xx only when nothing could be judged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import { apiKeysFile, type RunningUp } from '../../src/app/up.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { postJson } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { quickSpec, startTestUp } from '../helpers/up.js';

const SHORT = {
  load: { durationSeconds: 2, connections: 4, tolerance: { p99: 3, qps: 0.8, errorRate: 0 } },
  shadow: { durationSeconds: 5, samples: 30, minSamples: 20 },
};

describe('the gate endpoint of guardgate up', () => {
  let up: RunningUp & { dataDir: string };
  let fake: FakeOpenAI;
  let admin: Record<string, string>;
  const run = (body: unknown, headers = admin) => postJson(`${up.adminUrl}/admin/gates/run`, body, headers);
  beforeAll(async () => {
    [up, fake] = await Promise.all([startTestUp(), startFakeOpenAI()]);
    admin = { authorization: `Bearer ${up.token}` };
    // A candidate that calls everything Safe: the gates must say so, with a 200.
    fake.behaviour = { kind: 'content', content: 'Safety: Safe\nCategories: None' };
    await up.controller.release(
      quickSpec({
        version: 'always-safe',
        autoPromote: false,
        engine: { kind: 'openai', baseUrl: fake.baseUrl, model: 'Qwen/Qwen3Guard-Gen-4B', fallback: 'none' },
        gates: { functional: { enabled: false }, load: { enabled: false }, shadow: { enabled: false } },
      }),
    );
    await until(async () => (await up.controller.status()).release?.state === 'awaiting_approval', 30_000);
  });
  afterAll(async () => {
    await up.close();
    await fake.close();
  });

  it('judges the candidate behind the preview: 200 with pass false and the failing cases as evidence', async () => {
    const answer = await run({ gates: ['functional', 'shadow'], settings: { shadow: SHORT.shadow } });
    expect(answer.status).toBe(200);
    expect(answer.body.pass).toBe(false);
    const [functional, shadow] = answer.body.gates;
    expect(functional).toMatchObject({ gate: 'functional', passed: false });
    expect(functional.samples).toBeGreaterThan(10);
    expect(
      functional.evidence.cases.some(
        (c: { passed: boolean; expected: { safety: unknown } }) => !c.passed && c.expected.safety !== 'Safe',
      ),
    ).toBe(true);
    expect(shadow).toMatchObject({ gate: 'shadow', passed: false });
    expect(shadow.evidence.samples).toBeGreaterThanOrEqual(20);
    expect(shadow.evidence.matrix.Unsafe.Safe).toBeGreaterThan(0);
  });

  it('passes the live version against itself: 200 with pass true and the load figures of both sides', async () => {
    const answer = await run({
      gates: ['functional', 'load'],
      candidate: 'live',
      baseline: 'live',
      settings: { load: SHORT.load },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      pass: true,
      gates: [
        { gate: 'functional', passed: true },
        { gate: 'load', passed: true },
      ],
    });
    expect(answer.body.gates[1].evidence.active.requests).toBeGreaterThan(0);
    expect(answer.body.gates[1].evidence.candidate.requests).toBeGreaterThan(0);
  });

  it('measures the candidate itself behind the preview (the router tells the two apart by a header), one run at a time', async () => {
    const before = fake.received.length;
    const [load, functional] = await Promise.all([
      run({ gates: ['load'], settings: { load: SHORT.load } }),
      run({ gates: ['functional'], candidate: 'live', baseline: 'live' }),
    ]);
    expect(load.status).toBe(200);
    // The candidate's engine is the fake model server: the load reached it, not the live version twice.
    expect(fake.received.length - before).toBeGreaterThanOrEqual(load.body.gates[0].evidence.candidate.requests);
    expect(load.body.gates[0].evidence.candidate.requests).toBeGreaterThan(0);
    // Queued, not overlapping: one finished before the other started.
    const [a, b] = [load.body.gates[0], functional.body.gates[0]].sort((x, y) =>
      x.startedAt.localeCompare(y.startedAt),
    );
    expect(Date.parse(a.finishedAt)).toBeLessThanOrEqual(Date.parse(b.startedAt));
  });

  it('takes the URL of one of its instances, and refuses any other address with 403 endpoint_not_allowed', async () => {
    const instance = up.driver.describe('blue')!.instances[0]!.url;
    const direct = await run({ gates: ['functional'], candidate: instance, baseline: instance });
    expect(direct.status).toBe(200);
    expect(direct.body.pass).toBe(true);
    for (const elsewhere of ['http://169.254.169.254', 'http://127.0.0.1:9', `${fake.baseUrl}`]) {
      const refused = await run({ gates: ['functional'], candidate: elsewhere });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('endpoint_not_allowed');
    }
    expect(fake.received.every((r) => r.path.startsWith('/v1/'))).toBe(true);
  });

  it('answers bad requests with 400 and a stable code, and never names files over HTTP', async () => {
    for (const body of [
      {},
      { gates: [] },
      { gates: ['watch'] },
      { gates: ['load'], settings: { load: { durationSeconds: -1 } } },
      { gates: ['functional'], extra: 1 },
      { gates: ['functional'], settings: { functional: { suite: '/etc/passwd' } } },
    ]) {
      const answer = await run(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
    }
  });

  it('needs the admin scope', async () => {
    const key = addApiKey(apiKeysFile(up.dataDir), 'moderate-only', ['moderate']);
    await until(async () => (await run({ gates: ['functional'] }, { authorization: `Bearer ${key}` })).status === 403);
    expect((await run({ gates: ['functional'] }, {})).status).toBe(401);
  });
});
