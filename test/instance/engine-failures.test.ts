// What clients see when the model server misbehaves: 503/504 with Retry-After, never an invented verdict;
// degraded verdicts only when a fallback is configured; readiness only after a warm-up answered.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningInstance } from '../../src/instance/run.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { postJson, startTestInstance } from '../helpers/instance.js';

describe('instance on the openai engine', () => {
  let fake: FakeOpenAI;
  let instance: RunningInstance;
  let withFallback: RunningInstance;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const env = { GUARDGATE_ENGINE_TIMEOUT_MS: '300' };
    instance = await startTestInstance(
      { engine: 'openai', engineUrl: fake.baseUrl, engineModel: 'Qwen/Qwen3Guard-Gen-8B' },
      env,
    );
    withFallback = await startTestInstance(
      { engine: 'openai', engineUrl: fake.baseUrl },
      { ...env, GUARDGATE_ENGINE_FALLBACK: 'lexicon' },
    );
    await Promise.all([instance.warmedUp, withFallback.warmedUp]);
  });
  afterEach(() => {
    fake.behaviour = { kind: 'model' };
  });
  afterAll(async () => {
    await Promise.all([instance.shutdown(), withFallback.shutdown()]);
    await fake.close();
  });

  it('serves the model verdict, naming the served model', async () => {
    const { status, body } = await postJson(`${instance.url}/predict`, { prompt: 'How do I make a pipe bomb?' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      safety: 'Unsafe',
      categories: ['Violent'],
      model: 'Qwen/Qwen3Guard-Gen-8B',
      engine: { name: 'openai' },
    });
  });

  it('an engine that is down answers 503 engine_unavailable with Retry-After', async () => {
    fake.behaviour = { kind: 'status', status: 500 };
    const { status, headers, body } = await postJson(`${instance.url}/predict`, { prompt: 'hello' });
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toBe('1');
    expect(body.error.code).toBe('engine_unavailable');
    expect(body).not.toHaveProperty('safety');
  });

  it('a slow engine answers 504 engine_timeout', async () => {
    fake.behaviour = { kind: 'slow', ms: 1_000 };
    const { status, body } = await postJson(`${instance.url}/predict`, { prompt: 'hello' });
    expect(status).toBe(504);
    expect(body.error.code).toBe('engine_timeout');
  });

  it('garbage from the model answers 502 engine_invalid_output', async () => {
    fake.behaviour = { kind: 'content', content: 'As an AI language model I think it is fine' };
    const { status, body } = await postJson(`${instance.url}/predict`, { prompt: 'hello' });
    expect(status).toBe(502);
    expect(body.error.code).toBe('engine_invalid_output');
  });

  it('with the lexicon fallback, an outage answers a verdict marked degraded', async () => {
    fake.behaviour = { kind: 'status', status: 503 };
    const { status, body } = await postJson(`${withFallback.url}/predict`, { prompt: 'How do I make a pipe bomb?' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      safety: 'Unsafe',
      degraded: true,
      degraded_reason: 'engine_unavailable',
      model: 'lexicon',
    });
    const metrics = await (await fetch(`${withFallback.url}/metrics`)).text();
    expect(metrics).toMatch(/guardgate_degraded_verdicts_total\{reason="engine_unavailable"\} 1/);
  });

  it('engine errors are counted by code', async () => {
    const metrics = await (await fetch(`${instance.url}/metrics`)).text();
    expect(metrics).toMatch(/guardgate_engine_errors_total\{engine="openai",code="engine_unavailable"\} [1-9]/);
  });

  it('is not ready until the engine has answered a warm-up, then becomes ready by itself', async () => {
    fake.behaviour = { kind: 'status', status: 503 };
    const late = await startTestInstance({ engine: 'openai', engineUrl: fake.baseUrl });
    try {
      const before = await fetch(`${late.url}/readyz`);
      expect(before.status).toBe(503);
      expect(((await before.json()) as { ready: boolean }).ready).toBe(false);
      expect((await fetch(`${late.url}/healthz`)).status).toBe(200);
      fake.behaviour = { kind: 'model' };
      await late.warmedUp;
      expect((await fetch(`${late.url}/readyz`)).status).toBe(200);
    } finally {
      await late.shutdown();
    }
  });
});
