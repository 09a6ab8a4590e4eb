// 10,000 hostile requests with a fixed seed, through the router, at the admin API and straight at an
// instance process: no 5xx, every error a JSON body with a stable code and its status, no connection left
// hanging, no process restarted, and normal requests served afterwards.
import type { LocalDriver } from '../../src/drivers/local.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS, type ErrorCode } from '../../src/vocabulary/errors.js';
import { exchange, type RawResponse } from '../helpers/raw-http.js';
import { predict, startTestUp } from '../helpers/up.js';
import { hostileCases, type HostileCase, type Target } from './hostile-input.js';

const SEED = 20261130;
const CASES = 10_000;
const CONCURRENCY = 16;

interface Finding {
  kind: string;
  target: Target;
  problem: string;
  request: string;
}

/** What is wrong with one response, or null. */
function problemWith(response: RawResponse, head: boolean): string | null {
  if (response.status >= 500) return `status ${response.status}: ${response.body.toString().slice(0, 200)}`;
  if (response.status < 400 || head) return null;
  let parsed: { error?: { code?: string; message?: string } };
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    return `status ${response.status} with a body that is not JSON: ${response.body.toString('latin1').slice(0, 120)}`;
  }
  const code = parsed.error?.code;
  if (typeof code !== 'string' || !(code in ERROR_STATUS))
    return `status ${response.status} without a stable code: ${response.body.toString().slice(0, 120)}`;
  if (ERROR_STATUS[code as ErrorCode] !== response.status) return `code ${code} with status ${response.status}`;
  if (typeof parsed.error?.message !== 'string' || parsed.error.message.length > 400)
    return `code ${code} with a missing or unbounded message`;
  return null;
}

describe('hostile input', () => {
  let up: Awaited<ReturnType<typeof startTestUp>>;
  beforeAll(async () => {
    up = await startTestUp();
  });
  afterAll(async () => up?.close());

  it(`${CASES} seeded hostile requests: no 5xx, JSON errors with stable codes, nothing hangs, nothing restarts`, async () => {
    const instanceUrl = up.driver.describe('blue')!.instances[0]!.url;
    const local = up.driver as LocalDriver;
    const pidsBefore = local.pids('blue');
    const address = (target: Target) =>
      new URL(target === 'public' ? up.url : target === 'admin' ? up.adminUrl : instanceUrl);
    const cases = hostileCases(CASES, SEED, up.token);
    const findings: Finding[] = [];
    const kinds = new Map<string, number>();
    let responses = 0;
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const item: HostileCase = cases[next++]!;
        const { hostname, port } = address(item.target);
        const result = await exchange(hostname, Number(port), item.bytes, { methods: item.methods });
        kinds.set(item.kind, (kinds.get(item.kind) ?? 0) + 1);
        responses += result.responses.length;
        const report = (problem: string) =>
          findings.push({
            kind: item.kind,
            target: item.target,
            problem,
            request: item.bytes.toString('latin1').slice(0, 300),
          });
        if (result.hung) report('no answer and no close within 10 s');
        if (result.garbage !== null) report(`unparsable answer: ${result.garbage}`);
        result.responses.forEach((response, i) => {
          const problem = problemWith(response, item.methods[i] === 'HEAD');
          if (problem !== null) report(problem);
        });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // On failure, the router's view of the instance too: a 503 no_healthy_upstream says why it left rotation.
    const blue = (await up.router.router.status()).pools.blue.instances;
    expect(findings.slice(0, 10), `${findings.length} findings; the router saw ${JSON.stringify(blue)}`).toEqual([]);
    expect(responses).toBeGreaterThan(CASES / 2);
    expect([...kinds.keys()].sort()).toEqual([
      'body',
      'chunked',
      'content-type',
      'expect',
      'headers',
      'http10',
      'method',
      'pipeline',
      'smuggle',
      'target',
    ]);
    // Nothing crashed or restarted, the controller's state is untouched, and normal requests are served.
    expect(local.pids('blue')).toEqual(pidsBefore);
    expect(up.driver.describe('blue')!.instances.every((i) => i.restarts === 0 && i.state === 'ready')).toBe(true);
    const status = await up.controller.status();
    expect(status.active).toBe('blue');
    expect(status.release).toBeNull();
    expect(await up.router.router.status()).toMatchObject({ standbyWeight: 0, mirrorFraction: 0 });
    for (let i = 0; i < 5; i++) expect((await predict(up.url)).status).toBe(200);
  }, 600_000);
});
