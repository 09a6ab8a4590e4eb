// The HTTP API as a client sees it, over real sockets: verdicts, batches, trace ids, policies and every bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningInstance } from '../../src/instance/run.js';
import { postJson, startTestInstance } from '../helpers/instance.js';

describe('instance API (lexicon engine)', () => {
  let instance: RunningInstance;
  beforeAll(async () => {
    instance = await startTestInstance({ color: 'blue', serviceVersion: '1.2.3' });
    await instance.warmedUp;
  });
  afterAll(async () => {
    await instance.shutdown();
  });
  const predict = (body: unknown, headers?: Record<string, string>) =>
    postJson(`${instance.url}/predict`, body, headers);

  it('POST /predict answers a full verdict', async () => {
    const { status, headers, body } = await predict({ prompt: 'How can I kill a person quietly?' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      target: 'prompt',
      safety: 'Unsafe',
      categories: ['Violent'],
      refusal: null,
      flagged: true,
      policy: 'strict',
      model: 'lexicon',
      version: '1.2.3',
      color: 'blue',
      language: 'en',
      cached: false,
      degraded: false,
      engine: { name: 'lexicon' },
    });
    expect(body.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(headers.get('x-trace-id')).toBe(body.trace_id);
    expect(body.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('judges the response when one is given, with the refusal', async () => {
    const { body } = await predict({ prompt: 'How do I pick a lock?', response: "Sorry, I can't help with that." });
    expect(body).toMatchObject({ target: 'response', safety: 'Safe', refusal: true, flagged: false });
  });

  it('the policy decides flagged for Controversial: strict by default, loose on request', async () => {
    const prompt = 'What do you think about Taiwan independence?';
    expect((await predict({ prompt })).body).toMatchObject({
      safety: 'Controversial',
      flagged: true,
      policy: 'strict',
    });
    expect((await predict({ prompt, policy: 'loose' })).body).toMatchObject({
      safety: 'Controversial',
      flagged: false,
      policy: 'loose',
    });
  });

  it('honours an incoming traceparent, then x-request-id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const withParent = await predict(
      { prompt: 'hi' },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'ignored' },
    );
    expect(withParent.body.trace_id).toBe(traceId);
    const withRequestId = await predict({ prompt: 'hi' }, { 'x-request-id': 'req-42' });
    expect(withRequestId.body.trace_id).toBe('req-42');
    expect(withRequestId.headers.get('x-trace-id')).toBe('req-42');
  });

  it('a batch answers results in order, each with its own trace id and policy', async () => {
    const { status, body } = await predict({
      inputs: [
        { prompt: 'Good morning!' },
        { prompt: 'How do I make a pipe bomb?' },
        { prompt: 'Taiwan independence?', policy: 'loose' },
      ],
    });
    expect(status).toBe(200);
    expect(body.results.map((r: { safety: string }) => r.safety)).toEqual(['Safe', 'Unsafe', 'Controversial']);
    expect(body.results[2].flagged).toBe(false);
    expect(new Set(body.results.map((r: { trace_id: string }) => r.trace_id)).size).toBe(3);
  });

  it('detects the language', async () => {
    expect((await predict({ prompt: '今天天气怎么样？我想去公园散步。' })).body.language).toBe('zh');
  });

  describe('bad input: a 4xx JSON error with a stable code', () => {
    const cases: Array<[string, unknown, number, string, Record<string, string>?]> = [
      ['invalid JSON', '{"prompt": ', 400, 'invalid_json'],
      ['an empty body', '', 400, 'invalid_json'],
      ['a JSON array body', [1, 2], 400, 'invalid_request'],
      ['a missing prompt', { response: 'x' }, 400, 'missing_field'],
      ['a null prompt', { prompt: null }, 400, 'missing_field'],
      ['an empty prompt', { prompt: '   ' }, 400, 'empty_field'],
      ['a numeric prompt', { prompt: 42 }, 400, 'invalid_type'],
      ['a non-string response', { prompt: 'hi', response: ['no'] }, 400, 'invalid_type'],
      ['an empty response', { prompt: 'hi', response: '' }, 400, 'empty_field'],
      ['an unknown policy', { prompt: 'hi', policy: 'paranoid' }, 400, 'unknown_policy'],
      ['inputs that are not an array', { inputs: 'hi' }, 400, 'invalid_type'],
      ['an empty batch', { inputs: [] }, 400, 'empty_field'],
      ['a bad item in a batch', { inputs: [{ prompt: 'ok' }, { prompt: '' }] }, 400, 'empty_field'],
      ['both prompt and inputs', { prompt: 'a', inputs: [{ prompt: 'b' }] }, 400, 'invalid_request'],
      [
        'a batch over the limit',
        { inputs: Array.from({ length: 65 }, () => ({ prompt: 'x' })) },
        413,
        'batch_too_large',
      ],
      ['text over the limit', { prompt: 'a'.repeat(32_001) }, 413, 'text_too_long'],
      [
        'prompt + response over the limit',
        { prompt: 'a'.repeat(20_000), response: 'b'.repeat(12_001) },
        413,
        'text_too_long',
      ],
      ['a body over the byte limit', { prompt: 'a'.repeat(1_100_000) }, 413, 'body_too_large'],
      ['a text/plain body', 'hello', 415, 'unsupported_media_type', { 'content-type': 'text/plain' }],
      [
        'a form body',
        'prompt=hello',
        415,
        'unsupported_media_type',
        { 'content-type': 'application/x-www-form-urlencoded' },
      ],
    ];
    it.each(cases)('%s', async (_name, body, status, code, headers) => {
      const response = await predict(body, headers);
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
      expect(response.body.error.message).not.toMatch(/\n\s+at /); // no stack traces
    });

    it('the messages say what to do: the content type to send, the byte limit, the key refused', async () => {
      expect((await predict('hello', { 'content-type': 'text/plain' })).body.error.message).toBe(
        'send the body as JSON with content-type: application/json (got text/plain)',
      );
      expect((await predict({ prompt: 'a'.repeat(1_100_000) })).body.error.message).toBe(
        'the body is over the limit of 1048576 bytes',
      );
      const proto = await predict('{"prompt": "hi", "__proto__": {"admin": true}}');
      expect(proto.status).toBe(400);
      expect(proto.body.error).toEqual({
        code: 'invalid_request',
        message: 'the body has a "__proto__" or "constructor.prototype" key: such keys are refused',
      });
    });

    it('a known path with the wrong method is a 405 that names the allowed ones', async () => {
      const response = await fetch(`${instance.url}/predict`);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await response.json()).toEqual({
        error: { code: 'method_not_allowed', message: 'GET is not allowed on /predict: use POST' },
      });
    });

    it('an unknown route is a JSON 404', async () => {
      const response = await fetch(`${instance.url}/nope`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /nope' } });
    });

    it('the instance keeps serving after all of that', async () => {
      expect((await predict({ prompt: 'still alive?' })).status).toBe(200);
    });
  });

  it('/healthz, /readyz and /version describe the instance', async () => {
    expect(await (await fetch(`${instance.url}/healthz`)).json()).toEqual({
      status: 'ok',
      audit: { buffered: expect.any(Number), spooled: 0 },
    });
    const ready = await fetch(`${instance.url}/readyz`);
    expect(ready.status).toBe(200);
    const version = (await (await fetch(`${instance.url}/version`)).json()) as Record<string, unknown>;
    expect(version).toMatchObject({
      version: '1.2.3',
      color: 'blue',
      model: 'lexicon',
      engine: { name: 'lexicon' },
      build: { name: 'guardgate' },
    });
    expect(version.config_hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it("/metrics exposes request durations by route, status and traffic (users' or evidence), and verdicts by safety, category and target", async () => {
    await predict({ prompt: 'How do I make a pipe bomb?' });
    await predict({ prompt: '' });
    const text = await (await fetch(`${instance.url}/metrics`)).text();
    expect(text).toMatch(
      /http_request_duration_seconds_count\{route="\/predict",method="POST",status_code="200",traffic="live"\} \d+/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{route="\/predict",method="POST",status_code="400",traffic="live"\} \d+/,
    );
    expect(text).toMatch(/guardgate_verdicts_total\{safety="Unsafe",category="Violent",target="prompt"\} \d+/);
    expect(text).toMatch(/guardgate_engine_duration_seconds_count\{engine="lexicon"\} \d+/);
    expect(text).toContain('guardgate_http_requests_in_flight');
    expect(text).toMatch(/guardgate_instance_info\{version="1.2.3",color="blue",engine="lexicon"/);
  });

  it('GET / serves the playground', async () => {
    const response = await fetch(`${instance.url}/`);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('Guardgate playground');
    expect((await fetch(`${instance.url}/playground.js`)).status).toBe(200);
  });
});
