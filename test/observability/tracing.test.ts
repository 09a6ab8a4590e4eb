// OpenTelemetry end to end, against an OTLP receiver on loopback: a verdict is one trace (router span, instance
// span under it, engine span under that) that continues the caller's traceparent and carries the verdict's
// trace id, which the audit record keeps too; a release is a trace with a span per state and per gate. New
// traces are sampled at the configured ratio; a caller's decision and release traces are always followed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { keyedSample, tracingSettings, SpanKind, parentOf } from '../../src/shared/tracing.js';
import { startTracing } from '../../src/shared/tracing-sdk.js';
import { traceIdFrom } from '../../src/shared/trace.js';
import { stateLeft, upTo } from '../../src/release/release-trace.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { quickSpec, startTestUp } from '../helpers/up.js';
import { until } from '../helpers/router.js';

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const byId = (spans: ReceivedSpan[], id: string) => spans.find((s) => s.spanId === id);

describe('tracing settings', () => {
  it('is off without an endpoint, reads the standard variables, and refuses bad ones', () => {
    expect(tracingSettings({}, 'x')).toBeNull();
    expect(
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }, 'x'),
    ).toBeNull();
    expect(
      tracingSettings(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/',
          OTEL_TRACES_SAMPLER_ARG: '0.25',
          OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%20b',
        },
        'guardgate-router',
      ),
    ).toEqual({
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      headers: { 'x-api-key': 'a b' },
      sampleRatio: 0.25,
      samplingKey: expect.stringMatching(/^[0-9a-f]{32}$/),
      followCaller: false,
      serviceName: 'guardgate-router',
    });
    // Every hop of a deployment shares the key (the router secret) and so decides alike.
    expect(
      tracingSettings(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', GUARDGATE_ROUTER_SECRET: 'shared-secret' },
        'x',
      )?.samplingKey,
    ).toBe('shared-secret');
    expect(
      tracingSettings(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' },
        'x',
      ),
    ).toMatchObject({ followCaller: true });
    expect(() =>
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER: 'always_on' }, 'x'),
    ).toThrow(/traceidratio or parentbased_traceidratio/);
    expect(
      tracingSettings(
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/custom', OTEL_SERVICE_NAME: 'mine' },
        'x',
      ),
    ).toMatchObject({ endpoint: 'http://127.0.0.1:4318/custom', serviceName: 'mine' });
    expect(() => tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'x')).toThrow(/http\(s\) URL/);
    expect(() =>
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER_ARG: '2' }, 'x'),
    ).toThrow(/ratio from 0 to 1/);
  });
});

describe('keyed sampling', () => {
  it('a caller who picks trace ids cannot pick the decision: ids the plain ratio sampler would all keep are kept at the ratio', () => {
    // OpenTelemetry's trace-id-ratio sampler keeps an id whose last 8 bytes are small: these all pass it at 0.1.
    const crafted = Array.from({ length: 2_000 }, (_, i) => `${i.toString(16).padStart(16, '0')}${'0'.repeat(15)}1`);
    const kept = crafted.filter((id) => keyedSample(id, 0.1, 'deployment-key')).length;
    expect(kept).toBeGreaterThan(120);
    expect(kept).toBeLessThan(280);
    // The same decision at every hop with the same key; ratios 0 and 1 are exact.
    expect(crafted.map((id) => keyedSample(id, 0.1, 'deployment-key'))).toEqual(
      crafted.map((id) => keyedSample(id, 0.1, 'deployment-key')),
    );
    expect(crafted.every((id) => keyedSample(id, 1, 'k'))).toBe(true);
    expect(crafted.some((id) => keyedSample(id, 0, 'k'))).toBe(false);
  });

  it('a traceparent of version ff, or with a zero span id, is not honoured', () => {
    const id = 'a'.repeat(32);
    expect(traceIdFrom({ traceparent: `00-${id}-${'b'.repeat(16)}-01` })).toBe(id);
    expect(traceIdFrom({ traceparent: `ff-${id}-${'b'.repeat(16)}-01` })).not.toBe(id);
    expect(traceIdFrom({ traceparent: `00-${id}-${'0'.repeat(16)}-01` })).not.toBe(id);
  });
});

describe('sampling', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver?.close());

  /** The names of the spans one tracer exported, of those started by `start`. */
  async function exported(
    service: string,
    followCaller: boolean,
    start: (tracing: ReturnType<typeof startTracing>) => void,
  ): Promise<string[]> {
    const tracing = startTracing(
      {
        endpoint: `${receiver.url}/v1/traces`,
        headers: {},
        sampleRatio: 0,
        samplingKey: 'test-key',
        followCaller,
        serviceName: service,
      },
      'test',
    );
    start(tracing);
    tracing.start('marker', { attributes: { 'guardgate.release.id': 0 } }).end(); // always kept: the export has happened once it arrives
    await tracing.flush();
    await receiver.waitFor(`the marker span of ${service}`, (spans) =>
      spans.some((s) => s.service === service && s.name === 'marker'),
    );
    await tracing.shutdown();
    return receiver.spans
      .filter((s) => s.service === service && s.name !== 'marker')
      .map((s) => s.name)
      .sort();
  }

  it("at ratio 0 keeps no trace, whatever a caller's traceparent says, and always keeps release traces", async () => {
    const names = await exported('not-following', false, (tracing) => {
      tracing.start('new trace', { traceId: hex(32) }).end();
      tracing
        .start('caller said yes', { parent: parentOf(`00-${hex(32)}-${hex(16)}-01`), kind: SpanKind.SERVER })
        .end();
      tracing.start('release', { attributes: { 'guardgate.release.id': 1 } }).end();
    });
    expect(names).toEqual(['release']);
  });

  it("follows a caller's sampled flag when told to trust callers (OTEL_TRACES_SAMPLER=parentbased_traceidratio)", async () => {
    const followed = hex(32);
    const names = await exported('following', true, (tracing) => {
      tracing.start('new trace', { traceId: hex(32) }).end();
      tracing.start('caller said yes', { parent: parentOf(`00-${followed}-${hex(16)}-01`) }).end();
      tracing.start('caller said no', { parent: parentOf(`00-${hex(32)}-${hex(16)}-00`) }).end();
    });
    expect(names).toEqual(['caller said yes']);
    expect(receiver.spans.find((s) => s.name === 'caller said yes')!.traceId).toBe(followed);
  });
});

/** A describe block's OTLP receiver and a Guardgate `up` exporting to it (with `env` besides), closed after it. */
function tracedUp(env: NodeJS.ProcessEnv): { readonly receiver: OtlpReceiver; readonly up: RunningUp } {
  let receiver: OtlpReceiver | undefined;
  let up: RunningUp | undefined;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    up = await startTestUp(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env });
  });
  afterAll(async () => {
    await up?.close();
    await receiver?.close();
  });
  return {
    get receiver() {
      return receiver!;
    },
    get up() {
      return up!;
    },
  };
}

describe('traces through a running Guardgate', () => {
  const running = tracedUp({ GUARDGATE_AUDIT_TEXT: 'none' });

  /** The router, instance and engine spans of one trace, once all three arrived. */
  const verdictTrace = (traceId: string) =>
    running.receiver.waitFor(`the router, instance and engine spans of trace ${traceId}`, (spans) =>
      ['guardgate.router', 'guardgate.instance', 'guardgate.engine'].every((name) =>
        spans.some((s) => s.traceId === traceId && s.name === name),
      ),
    );

  it("makes one trace of a verdict under the caller's traceparent: router → instance → engine, with what each knows", async () => {
    const traceId = hex(32);
    const callerSpan = hex(16);
    const response = await fetch(`${running.up.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ prompt: 'How do I make a bomb at home?' }),
    });
    const verdict = (await response.json()) as { trace_id: string; safety: string };
    expect(verdict.trace_id).toBe(traceId);
    const spans = (await verdictTrace(traceId)).filter((s) => s.traceId === traceId);
    const router = spans.find((s) => s.name === 'guardgate.router')!;
    const instance = spans.find((s) => s.name === 'guardgate.instance')!;
    const engine = spans.find((s) => s.name === 'guardgate.engine')!;
    expect(router.parentSpanId).toBe(callerSpan);
    expect(instance.parentSpanId).toBe(router.spanId);
    expect(engine.parentSpanId).toBe(instance.spanId);
    expect(router).toMatchObject({
      service: 'guardgate-router',
      attributes: {
        'guardgate.color': 'blue',
        'guardgate.version': 'initial',
        'guardgate.mirror': false,
        'http.response.status_code': 200,
        'guardgate.upstream': expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      },
    });
    expect(instance).toMatchObject({
      service: 'guardgate-instance',
      attributes: {
        'guardgate.policy': 'strict',
        'guardgate.target': 'prompt',
        'guardgate.cached': false,
        'guardgate.language': 'en',
        'guardgate.safety': verdict.safety,
        'http.response.status_code': 200,
      },
    });
    expect(engine.attributes).toMatchObject({ 'guardgate.engine': 'lexicon', 'guardgate.model': 'lexicon' });
    // Nested in time as in parentage.
    expect(instance.start).toBeGreaterThanOrEqual(router.start);
    expect(engine.end).toBeLessThanOrEqual(instance.end);
  });

  it('keeps the id a request came with, or gives one, so that the verdict, its audit record and its trace share it', async () => {
    const given = hex(32);
    const withId = await fetch(`${running.up.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': given },
      body: JSON.stringify({ prompt: 'What is the capital of France?' }),
    });
    expect(((await withId.json()) as { trace_id: string }).trace_id).toBe(given);
    const spans = (await verdictTrace(given)).filter((s) => s.traceId === given);
    expect(spans.find((s) => s.name === 'guardgate.router')!.parentSpanId).toBe('');
    const bare = await fetch(`${running.up.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Tell me a joke about cats.' }),
    });
    const traceId = ((await bare.json()) as { trace_id: string }).trace_id;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await verdictTrace(traceId);
    // The audit record carries the same id (the audit is written in batches: wait for it).
    const audited = async () =>
      (
        (await (
          await fetch(`${running.up.adminUrl}/admin/audit?trace_id=${traceId}`, {
            headers: { authorization: `Bearer ${running.up.token}` },
          })
        ).json()) as { records: Array<{ trace_id: string }> }
      ).records;
    await until(async () => (await audited()).length > 0, 20_000, `an audit record with trace id ${traceId}`);
    expect((await audited())[0]!.trace_id).toBe(traceId);
  });

  it('makes a release one trace: a root span, a span per state, a span per gate with its result', async () => {
    const release = await running.up.controller.release(
      quickSpec({
        version: 'traced',
        gates: {
          functional: {},
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { durationSeconds: 1, minRequests: 0 },
        },
      }),
    );
    await running.up.controller.settled();
    const root = (
      await running.receiver.waitFor('the release root span', (spans) => spans.some((s) => s.name === 'release traced'))
    ).find((s) => s.name === 'release traced')!;
    expect(root).toMatchObject({
      service: 'guardgate-controller',
      parentSpanId: '',
      attributes: {
        'guardgate.release.id': release.id,
        'guardgate.release.state': 'stable',
        'guardgate.release.candidate': 'green',
      },
    });
    const spans = running.receiver.spans.filter((s) => s.traceId === root.traceId);
    const states = spans.filter((s) => s.parentSpanId === root.spanId).sort((a, b) => a.start - b.start);
    expect(states.map((s) => s.name)).toEqual([
      'release.deploying',
      'release.validating',
      'release.switching',
      'release.watching',
    ]);
    for (const state of states) expect(state.start).toBeGreaterThanOrEqual(root.start);
    // One after the other: each state starts where the one before it ended.
    for (let i = 1; i < states.length; i++) expect(states[i]!.start).toBe(states[i - 1]!.end);
    const gates = spans.filter((s) => s.name.startsWith('gate.'));
    expect(gates.map((g) => g.name).sort()).toEqual(['gate.functional', 'gate.watch']);
    const functional = gates.find((g) => g.name === 'gate.functional')!;
    expect(byId(spans, functional.parentSpanId)!.name).toBe('release.validating');
    expect(functional.attributes).toMatchObject({
      'guardgate.gate.passed': true,
      'guardgate.gate.samples': expect.any(Number),
    });
    expect(byId(spans, gates.find((g) => g.name === 'gate.watch')!.parentSpanId)!.name).toBe('release.watching');
  });
});

describe('sampling through a running Guardgate', () => {
  const running = tracedUp({ OTEL_TRACES_SAMPLER_ARG: '0.5', GUARDGATE_TRACE_SAMPLING_KEY: 'sampling-test-key' });

  it('keeps about the configured share of requests that came without a trace id, not all or none of them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${running.up.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: `question ${i}` }),
      });
      ids.push(((await response.json()) as { trace_id: string }).trace_id);
    }
    // A last request whose id the keyed ratio keeps (the test knows the key): once its spans are in, the ones
    // before it are too (one exporter, in order).
    let n = 1;
    while (!keyedSample(n.toString(16).padStart(32, '0'), 0.5, 'sampling-test-key')) n++;
    const last = n.toString(16).padStart(32, '0');
    await fetch(`${running.up.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': last },
      body: JSON.stringify({ prompt: 'the last one' }),
    });
    await running.receiver.waitFor("the last request's router span", (spans) =>
      spans.some((s) => s.traceId === last && s.name === 'guardgate.router'),
    );
    const kept = new Set(running.receiver.spans.filter((s) => s.name === 'guardgate.router').map((s) => s.traceId));
    const sampled = ids.filter((id) => kept.has(id)).length;
    // Half of 40 on average; all or none would be 2 chances in a trillion with random ids.
    expect(sampled).toBeGreaterThan(0);
    expect(sampled).toBeLessThan(40);
  });
});

describe('the state a transition left (pure)', () => {
  const t = (at: string, from: string | null, to: string, evidence: unknown = null) =>
    ({ at, from, to, note: null, evidence, actor: 'controller' }) as never;
  const gate = {
    gate: 'functional',
    passed: true,
    summary: '',
    evidence: null,
    startedAt: '2026-01-01T00:00:02Z',
    finishedAt: '2026-01-01T00:00:03Z',
  };
  const release = { createdAt: '2026-01-01T00:00:00Z' };

  it('spans from the first transition into the state to the one that left it, with the gates reported in it', () => {
    const transitions = [
      t('2026-01-01T00:00:01Z', 'deploying', 'validating'),
      t('2026-01-01T00:00:03Z', 'validating', 'validating', gate),
      t('2026-01-01T00:00:04Z', 'validating', 'switching'),
    ];
    expect(stateLeft(release, transitions)).toEqual({
      state: 'validating',
      start: '2026-01-01T00:00:01Z',
      end: '2026-01-01T00:00:04Z',
      gates: [gate],
      notes: [],
    });
    expect(stateLeft(release, transitions.slice(0, 2))).toBeNull(); // a gate within validating: nothing left yet
    expect(stateLeft(release, transitions.slice(0, 1))).toMatchObject({ state: 'deploying', start: release.createdAt });
    // A transition told late is cut to where it stood: later ones stored already are not its own.
    expect(upTo({ state: 'validating', updatedAt: '2026-01-01T00:00:01Z' }, transitions)).toHaveLength(1);
  });
});
