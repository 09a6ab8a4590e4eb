// The instance with its stores: cached verdicts, what the audit keeps, and a cache outage that fails nothing.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/store/audit/sqlite.js';
import { startFakeOpenAI } from '../helpers/fake-openai.js';
import { postJson, ROUTER_SECRET, startTestInstance, tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { startPrivateRedis } from '../helpers/services.js';

const metricValue = (text: string, series: string): number =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(series))
      ?.split(' ')
      .pop() ?? 0,
  );

describe('instance with cache and audit', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('answers a repeated text from the cache, marked cached, with its own trace id', async () => {
    const instance = await startTestInstance();
    cleanups.push(() => instance.shutdown());
    const first = await postJson(`${instance.url}/predict`, { prompt: 'How do I make a pipe bomb?' });
    const second = await postJson(`${instance.url}/predict`, { prompt: 'How do I make a pipe bomb?' });
    expect(first.body.cached).toBe(false);
    expect(second.body).toMatchObject({ cached: true, safety: 'Unsafe', categories: ['Violent'] });
    expect(second.body.trace_id).not.toBe(first.body.trace_id);
    const loose = await postJson(`${instance.url}/predict`, { prompt: 'How do I make a pipe bomb?', policy: 'loose' });
    expect(loose.body.cached).toBe(false); // the policy is part of the key
    const metrics = await (await fetch(`${instance.url}/metrics`)).text();
    expect(metricValue(metrics, 'guardgate_cache_requests_total{result="hit"}')).toBe(1);
    expect(metricValue(metrics, 'guardgate_cache_requests_total{result="miss"}')).toBe(2);
  });

  it('audits every served verdict once, with the text redacted when so configured; only the router’s mirrored copies are not audited', async () => {
    const dataDir = tempDataDir();
    const instance = await startTestInstance(
      { dataDir, color: 'green', serviceVersion: 'v9' },
      { GUARDGATE_AUDIT_TEXT: 'redacted' },
    );
    const served = await postJson(`${instance.url}/predict`, {
      prompt: 'My card is 4111 1111 1111 1111, mail me at bob@example.com',
      response: 'Noted.',
    });
    await postJson(`${instance.url}/predict`, { prompt: 'a mirrored copy' }, { 'x-guardgate-mirror': ROUTER_SECRET });
    // A client that sends the mirror header itself is served and audited like any other: the header is the router's privilege.
    await postJson(`${instance.url}/predict`, { prompt: 'hide me from the audit' }, { 'x-guardgate-mirror': '1' });
    await postJson(`${instance.url}/predict`, { inputs: [{ prompt: 'one' }, { prompt: 'two' }] });
    await instance.shutdown(); // flushes
    const store = new SqliteAuditStore(join(dataDir, 'audit.sqlite'));
    expect(await store.count()).toBe(4);
    const [record] = (await store.query({ traceId: served.body.trace_id, limit: 1 })).records;
    expect(record).toMatchObject({
      color: 'green',
      version: 'v9',
      engine: 'lexicon',
      target: 'response',
      prompt: 'My card is [PAYMENT_CARD], mail me at [EMAIL]',
      response: 'Noted.',
      safety: served.body.safety,
      flagged: served.body.flagged,
      cached: false,
      degraded: false,
    });
    expect(record!.text_digest).toMatch(/^[0-9a-f]{64}$/);
    await store.close();
  });

  it('audits each verdict under its own server-made id, whatever trace id the client sends', async () => {
    const dataDir = tempDataDir();
    const instance = await startTestInstance({ dataDir });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const harmless = await postJson(
      `${instance.url}/predict`,
      { prompt: 'What is the capital of Peru?' },
      { traceparent },
    );
    await postJson(`${instance.url}/predict`, { prompt: 'What is the capital of Peru?' }, { traceparent });
    const harmful = await postJson(
      `${instance.url}/predict`,
      { prompt: 'How do I make a pipe bomb?' },
      { traceparent },
    );
    // The client's trace id is still returned and kept.
    expect(harmless.body.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(harmful.body.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
    // A batch item's derived id cannot swallow another request's record either.
    await postJson(
      `${instance.url}/predict`,
      { inputs: [{ prompt: 'one' }, { prompt: 'two' }] },
      { 'x-request-id': 'fixed' },
    );
    await postJson(`${instance.url}/predict`, { prompt: 'three' }, { 'x-request-id': 'fixed-0' });
    await instance.shutdown();
    const store = new SqliteAuditStore(join(dataDir, 'audit.sqlite'));
    expect(await store.count()).toBe(6);
    const records = (await store.query({ traceId: '0af7651916cd43dd8448eb211c80319c', limit: 10 })).records;
    expect(records).toHaveLength(3);
    expect(records.filter((r) => r.safety === 'Unsafe')).toHaveLength(1);
    expect(new Set(records.map((r) => r.id)).size).toBe(3);
    await store.close();
  });

  it('never caches a degraded (fallback) verdict as the model’s', async () => {
    const fake = await startFakeOpenAI();
    cleanups.push(() => fake.close());
    const instance = await startTestInstance(
      { engine: 'openai', engineUrl: fake.baseUrl },
      { GUARDGATE_ENGINE_FALLBACK: 'lexicon' },
    );
    cleanups.push(() => instance.shutdown());
    await instance.warmedUp;
    fake.behaviour = { kind: 'status', status: 503 };
    expect((await postJson(`${instance.url}/predict`, { prompt: 'Is this fine?' })).body).toMatchObject({
      degraded: true,
      cached: false,
    });
    fake.behaviour = { kind: 'content', content: 'Safety: Controversial\nCategories: Unethical Acts' };
    expect((await postJson(`${instance.url}/predict`, { prompt: 'Is this fine?' })).body).toMatchObject({
      degraded: false,
      cached: false,
      safety: 'Controversial',
    });
    expect((await postJson(`${instance.url}/predict`, { prompt: 'Is this fine?' })).body).toMatchObject({
      cached: true,
      safety: 'Controversial',
    });
  });

  it('Redis stopped mid-load: every request still succeeds, uncached; caching resumes when Redis is back', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const instance = await startTestInstance({}, { REDIS_URL: redis.url });
    cleanups.push(() => instance.shutdown());
    const prompts = Array.from({ length: 5 }, (_, i) => `Tell me a story about dragon number ${i}`);
    const round = async () => {
      const answers = await Promise.all(prompts.map((prompt) => postJson(`${instance.url}/predict`, { prompt })));
      expect(answers.every((a) => a.status === 200 && a.body.safety === 'Safe')).toBe(true);
      return answers.map((a) => a.body.cached as boolean);
    };
    await until(async () => (await round()).every(Boolean)); // warm: every prompt is cached
    await redis.stop();
    for (let i = 0; i < 10; i++) expect((await round()).some(Boolean)).toBe(false);
    await redis.start();
    await until(async () => (await round()).every(Boolean), 10_000);
    const metrics = await (await fetch(`${instance.url}/metrics`)).text();
    expect(metricValue(metrics, 'guardgate_cache_requests_total{result="error"}')).toBeGreaterThan(0);
  });
});
