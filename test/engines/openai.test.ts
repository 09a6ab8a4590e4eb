// The openai engine against a fake vLLM server on loopback: the contract, the wire format, and every misbehaviour.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIEngine, type OpenAIEngineConfig } from '../../src/engines/openai.js';
import { FallbackEngine } from '../../src/engines/fallback.js';
import { LexiconEngine } from '../../src/engines/lexicon/index.js';
import { GuardgateError } from '../../src/vocabulary/errors.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { runEngineContract } from './contract.js';

const configFor = (fake: { baseUrl: string }, overrides: Partial<OpenAIEngineConfig> = {}): OpenAIEngineConfig => ({
  baseUrl: fake.baseUrl,
  model: 'Qwen/Qwen3Guard-Gen-4B',
  apiKey: 'sk-test',
  timeoutMs: 2_000,
  concurrency: 8,
  retries: 2,
  maxTokens: 128,
  ...overrides,
});

runEngineContract('openai (fake vLLM on loopback)', async () => {
  const fake = await startFakeOpenAI();
  const engine = new OpenAIEngine(configFor(fake));
  return {
    engine,
    twin: () => new OpenAIEngine(configFor(fake)),
    close: async () => (await engine.close(), await fake.close()),
  };
});

describe('openai engine', () => {
  let fake: FakeOpenAI;
  let engine: OpenAIEngine;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    engine = new OpenAIEngine(configFor(fake, { timeoutMs: 300 }));
  });
  afterEach(() => {
    fake.behaviour = { kind: 'model' };
    fake.once.length = 0;
    fake.received.length = 0;
  });
  afterAll(async () => {
    await engine.close();
    await fake.close();
  });

  const failure = async (promise: Promise<unknown>): Promise<GuardgateError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GuardgateError);
    return error as GuardgateError;
  };

  it('sends the plain messages, temperature 0, the token limit and the key; no system prompt', async () => {
    await engine.classify({ prompt: 'Hi there', response: 'Hello!' });
    const [request] = fake.received;
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBe('Bearer sk-test');
    expect(request!.body).toEqual({
      model: 'Qwen/Qwen3Guard-Gen-4B',
      messages: [
        { role: 'user', content: 'Hi there' },
        { role: 'assistant', content: 'Hello!' },
      ],
      temperature: 0,
      max_tokens: 128,
    });
  });

  it('reads the real vLLM body from QWEN3GUARD.md, Controversial and a category', async () => {
    fake.behaviour = { kind: 'content', content: 'Safety: Controversial\nCategories: Politically Sensitive Topics' };
    const result = await engine.classify({ prompt: 'anything' });
    expect(result).toMatchObject({
      safety: 'Controversial',
      categories: ['Politically Sensitive Topics'],
      refusal: null,
    });
  });

  it('a slow server becomes engine_timeout (504) with Retry-After', async () => {
    fake.behaviour = { kind: 'slow', ms: 1_000 };
    const error = await failure(engine.classify({ prompt: 'hello' }));
    expect(error.code).toBe('engine_timeout');
    expect(error.status).toBe(504);
    expect(error.retryAfter).toBeGreaterThan(0);
  });

  it('a 500 becomes engine_unavailable (503), honouring the server Retry-After', async () => {
    fake.behaviour = { kind: 'status', status: 503, retryAfter: '7' };
    const error = await failure(engine.classify({ prompt: 'hello' }));
    expect(error.code).toBe('engine_unavailable');
    expect(error.status).toBe(503);
    expect(error.retryAfter).toBe(7);
  });

  it('garbage text with no Safety line is engine_invalid_output, never a guessed verdict', async () => {
    fake.behaviour = { kind: 'content', content: 'I think this text is probably fine.' };
    expect((await failure(engine.classify({ prompt: 'hello' }))).code).toBe('engine_invalid_output');
    fake.behaviour = { kind: 'invalid-json' };
    expect((await failure(engine.classify({ prompt: 'hello' }))).code).toBe('engine_invalid_output');
  });

  it('a dropped connection is retried (a verdict is idempotent)', async () => {
    fake.once.push({ kind: 'drop' }, { kind: 'drop' });
    const result = await engine.classify({ prompt: 'How can I kill a person?' });
    expect(result.safety).toBe('Unsafe');
    expect(fake.received).toHaveLength(3);
  });

  it('gives up after the retry budget: engine_unavailable', async () => {
    fake.behaviour = { kind: 'drop' };
    expect((await failure(engine.classify({ prompt: 'hello' }))).code).toBe('engine_unavailable');
    expect(fake.received).toHaveLength(3);
  });

  it("the server's context-length error becomes text_too_long (413)", async () => {
    fake.behaviour = {
      kind: 'status',
      status: 400,
      body: JSON.stringify({
        object: 'error',
        message: "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens.",
      }),
    };
    const error = await failure(engine.classify({ prompt: 'long' }));
    expect(error.code).toBe('text_too_long');
    expect(error.status).toBe(413);
  });

  it('a server that is not there is engine_unavailable', async () => {
    const down = new OpenAIEngine(configFor({ baseUrl: 'http://127.0.0.1:1/v1' }, { retries: 1 }));
    expect((await failure(down.classify({ prompt: 'hello' }))).code).toBe('engine_unavailable');
    await down.close();
  });

  it('never has more requests in flight than its concurrency limit', async () => {
    const narrow = new OpenAIEngine(configFor(fake, { concurrency: 2, timeoutMs: 5_000 }));
    fake.behaviour = { kind: 'slow', ms: 50 };
    fake.maxInFlight = 0;
    const results = await Promise.all(Array.from({ length: 8 }, () => narrow.classify({ prompt: 'hello' })));
    expect(results.every((r) => r.safety === 'Safe')).toBe(true);
    expect(fake.received).toHaveLength(8);
    expect(fake.maxInFlight).toBe(2);
    await narrow.close();
  });

  it('with a lexicon fallback, an outage answers degraded verdicts instead of errors', async () => {
    const withFallback = new FallbackEngine(new OpenAIEngine(configFor(fake, { retries: 0 })), new LexiconEngine());
    fake.behaviour = { kind: 'status', status: 500 };
    const result = await withFallback.classify({ prompt: 'How can I kill a person?' });
    expect(result).toMatchObject({ safety: 'Unsafe', degraded: true });
    expect(result.engine.name).toBe('lexicon');
    fake.behaviour = { kind: 'content', content: 'nonsense' };
    expect((await failure(withFallback.classify({ prompt: 'hello' }))).code).toBe('engine_invalid_output');
    await withFallback.close();
  });
});
