// The Argo Rollouts analysis the renderer writes, run as Argo's web metric provider runs it: the request it
// sends (URL, method, headers with the template's args resolved, body, timeout), the JSON path it reads, the
// success condition it evaluates, and its rule that any non-2xx answer is an Error, not a Failure. Against the
// gate runner (`guardgate gates serve`) in front of real instances configured as the rendered pods are.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import { parseRenderOptions } from '../../src/deploy/options.js';
import { renderObjects } from '../../src/deploy/render.js';
import type { RunningInstance } from '../../src/instance/run.js';
import { startGateServer, type RunningGateServer } from '../../src/gates/server.js';
import { loadReleaseSpec, parseReleaseSpec } from '../../src/release/spec.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { startTestInstance } from '../helpers/instance.js';

const TOKEN = 'argo-analysis-test-token-0123456789';

interface WebMetric {
  name: string;
  successCondition: string;
  provider: { web: { url: string; method: string; headers: Array<{ key: string; value: string }>; body: string; timeoutSeconds: number; jsonPath: string } };
}

/** Argo's expression for a web result, as far as the rendered templates use it: `result.a.b == literal`. */
function evaluate(condition: string, result: unknown): boolean {
  const match = /^result((?:\.\w+)*) == (true|false|-?\d+(?:\.\d+)?|"[^"]*")$/.exec(condition);
  if (match === null) throw new Error(`the test evaluates result.path == literal only, not: ${condition}`);
  const value = match[1]!.split('.').filter(Boolean).reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], result);
  return value === JSON.parse(match[2]!);
}

/** One measurement as Argo's web provider takes it: Successful, Failed, or Error (with why). */
async function measure(metric: WebMetric, args: Record<string, string>, runner: string): Promise<{ phase: 'Successful' | 'Failed' | 'Error'; status?: number; body?: any }> {
  const web = metric.provider.web;
  const resolve = (text: string) => text.replace(/\{\{args\.([\w-]+)\}\}/g, (_m, name: string) => args[name] ?? '');
  // The Service's address in the cluster is the runner's address here; the path is the template's.
  const url = new URL(web.url);
  const target = `${runner}${url.pathname}${url.search}`;
  let response: Response;
  try {
    response = await fetch(target, { method: web.method, headers: Object.fromEntries(web.headers.map((h) => [h.key, resolve(h.value)])), body: resolve(web.body), signal: AbortSignal.timeout(web.timeoutSeconds * 1000) });
  } catch (error) {
    return { phase: 'Error', body: (error as Error).message };
  }
  const text = await response.text();
  if (response.status < 200 || response.status >= 300) return { phase: 'Error', status: response.status, body: text };
  expect(web.jsonPath).toBe('{$}'); // the whole document is the result
  const result = JSON.parse(text) as unknown;
  return { phase: evaluate(metric.successCondition, result) ? 'Successful' : 'Failed', status: response.status, body: result };
}

describe('the rendered Argo Rollouts analysis, run as Argo runs it', () => {
  let fake: FakeOpenAI;
  let live: RunningInstance;
  let good: RunningInstance;
  let bad: RunningInstance;
  const runners: RunningGateServer[] = [];
  let metrics: Record<string, WebMetric>;
  const runner = async (preview: string) => {
    const started = await startGateServer({ live: live.url, preview, allow: [], adminToken: TOKEN, host: '127.0.0.1', port: 0, auditText: 'none' }, pino({ level: 'silent' }));
    runners.push(started);
    return started.url;
  };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    // Fast gates, so that the test measures the contract rather than the clock.
    const spec = parseReleaseSpec({ ...loadReleaseSpec(new URL('../../examples/lexicon-v2.yaml', import.meta.url).pathname), gates: { load: { durationSeconds: 2, connections: 4, tolerance: { p99: 3, qps: 0.8 } }, shadow: { durationSeconds: 4, samples: 30, minSamples: 20 } } }, 'test');
    const rendered = renderObjects(spec, parseRenderOptions({ argoRollouts: true }));
    const template = rendered['analysis.yaml']!.find((o) => o.metadata.name === 'guardgate-gates') as unknown as { spec: { args: Array<{ name: string }>; metrics: WebMetric[] } };
    expect(template.spec.args.map((a) => a.name)).toEqual(['token']);
    metrics = Object.fromEntries(template.spec.metrics.map((m) => [m.name, m]));
    // The pods' configuration file, as rendered, with the key file where this machine has it.
    const config = (rendered['rollout.yaml']!.find((o) => o.kind === 'ConfigMap')!.data as Record<string, string>)['instance.yaml']!;
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-argo-'));
    addApiKey(join(dir, 'api-keys.json'), 'app', ['moderate']);
    writeFileSync(join(dir, 'instance.yaml'), config.replace('/etc/guardgate-keys/api-keys.json', join(dir, 'api-keys.json')));
    // The Secret's token-sha256: the pods know the runner's token by its digest only.
    const env = { GUARDGATE_GATE_TOKEN_SHA256: createHash('sha256').update(TOKEN).digest('hex') };
    [live, good, bad] = await Promise.all([
      startTestInstance({ config: join(dir, 'instance.yaml'), serviceVersion: 'v1' }, env),
      startTestInstance({ config: join(dir, 'instance.yaml'), serviceVersion: 'v2' }, env),
      // A candidate whose model calls everything Safe.
      startTestInstance({ config: join(dir, 'instance.yaml'), serviceVersion: 'v2-broken', engine: 'openai', engineUrl: fake.baseUrl }, env),
    ]);
    fake.behaviour = { kind: 'content', content: 'Safety: Safe\nCategories: None' };
  });
  afterAll(async () => {
    for (const r of runners) await r.close();
    await Promise.all([live, good, bad].map((i) => i?.shutdown()));
    await fake?.close();
  });

  it('Successful for a sound candidate: every gate of the template', async () => {
    const url = await runner(good.url);
    for (const name of ['functional', 'load', 'shadow']) {
      const measurement = await measure(metrics[name]!, { token: TOKEN }, url);
      expect(measurement.phase, JSON.stringify(measurement.body).slice(0, 400)).toBe('Successful');
      expect(measurement.body.gates[0].samples).toBeGreaterThan(10);
    }
  });

  it('Failed, not Error, for a candidate the gates judge: the evidence names what it got wrong', async () => {
    const url = await runner(bad.url);
    const functional = await measure(metrics.functional!, { token: TOKEN }, url);
    expect(functional).toMatchObject({ phase: 'Failed', status: 200, body: { pass: false } });
    expect(functional.body.gates[0].evidence.cases.filter((c: { passed: boolean }) => !c.passed).length).toBeGreaterThan(3);
    const shadow = await measure(metrics.shadow!, { token: TOKEN }, url);
    expect(shadow.phase).toBe('Failed');
    expect(shadow.body.gates[0].evidence.unsafeToSafe).toBeGreaterThan(0);
  });

  it('Error when nothing could be judged: a candidate that does not answer (503), a wrong token (401)', async () => {
    const url = await runner('http://127.0.0.1:9');
    const unreachable = await measure(metrics.functional!, { token: TOKEN }, url);
    expect(unreachable).toMatchObject({ phase: 'Error', status: 503 });
    expect(JSON.parse(unreachable.body).error.code).toBe('endpoint_unreachable');
    const refused = await measure(metrics.functional!, { token: 'not-the-token-at-all-0000' }, url);
    expect(refused).toMatchObject({ phase: 'Error', status: 401 });
  });

  it('the success condition reads the answer as documented', () => {
    expect(evaluate('result.pass == true', { pass: true })).toBe(true);
    expect(evaluate('result.pass == true', { pass: false })).toBe(false);
    expect(evaluate('result.pass == true', {})).toBe(false);
  });
});
