// The functional gate: run the audit suite against an endpoint and report per case.
import { request, type Dispatcher } from 'undici';
import { servedBy, wrongSide } from '../shared/served-by.js';
import type { AuditCase, AuditSuite } from './suite.js';
import type { GateReport } from './report.js';

/** One audit case: what it expected and what the candidate answered. */
export interface CaseResult {
  name: string;
  tags: string[];
  passed: boolean;
  expected: AuditCase['expect'];
  got: { safety: string; categories: string[]; refusal: boolean | null } | { error: string };
}

/** The functional gate's evidence: every case, and how many passed. */
export interface FunctionalEvidence {
  suite: string;
  endpoint: string;
  passed: number;
  failed: number;
  passRate: number;
  /** Cases asked again because no answer came (a connection cut, a proxy with no upstream) or the wrong side answered. */
  retried: number;
  cases: CaseResult[];
}

/** Asks again per case, and in all per run: a pod replaced under the gate is a blip; a candidate that never answers is not. */
const RETRIES_PER_CASE = 2;
const RETRIES_PER_RUN = 10;
const RETRY_BACKOFF_MS = 150;

/**
 * No verdict came back: the connection failed, the wrong side answered, or a 502–504 (a proxy with no upstream, an
 * engine briefly unavailable); asked again within the budget, so a candidate that keeps failing still fails. Pure.
 */
const askAgain = (got: CaseResult['got']): boolean =>
  'error' in got &&
  (!got.error.startsWith('HTTP ') || /^HTTP 50[234]\b/.test(got.error) || got.error.startsWith('answered by'));

/** Did the verdict meet the case's expectation? Pure. */
export function caseMet(
  expected: AuditCase['expect'],
  got: { safety: string; categories: string[]; refusal: boolean | null },
): boolean {
  const tiers = Array.isArray(expected.safety) ? expected.safety : [expected.safety];
  if (!tiers.includes(got.safety as (typeof tiers)[number])) return false;
  if (expected.category !== undefined && !got.categories.includes(expected.category)) return false;
  if (expected.refusal !== undefined && got.refusal !== expected.refusal) return false;
  return true;
}

async function judge(
  endpoint: string,
  item: AuditCase,
  headers: Record<string, string>,
  expectColor: string | undefined,
  signal?: AbortSignal,
  dispatcher?: Dispatcher,
): Promise<CaseResult['got']> {
  try {
    const response = await request(`${endpoint.replace(/\/$/, '')}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        prompt: item.prompt,
        ...(item.response ? { response: item.response } : {}),
        policy: 'strict',
      }),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
      signal,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    const body = (await response.body.json()) as {
      safety: string;
      categories: string[];
      refusal: boolean | null;
      error?: { code: string; message: string };
    };
    if (response.statusCode !== 200)
      return { error: `HTTP ${response.statusCode} ${body.error?.code ?? ''}: ${body.error?.message ?? ''}`.trim() };
    // A verdict of the wrong environment (a preview not yet moved to the candidate) is no evidence about the candidate.
    const wrong = expectColor === undefined ? undefined : wrongSide(servedBy(response.headers), expectColor);
    if (wrong !== undefined) return { error: wrong };
    return { safety: body.safety, categories: body.categories, refusal: body.refusal };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * Run every case; the gate passes when the share of passed cases reaches `minPassRate` (1 by default: all).
 * `headers` lets a caller aim at the standby through the router (`x-guardgate-preview: 1`).
 */
export async function runFunctionalGate(
  endpoint: string,
  suite: AuditSuite,
  options: {
    minPassRate: number;
    headers?: Record<string, string>;
    expectColor?: string;
    dispatcher?: Dispatcher;
    onProgress?: (done: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<GateReport<FunctionalEvidence>> {
  const startedAt = new Date().toISOString();
  const cases: CaseResult[] = [];
  let retried = 0;
  for (const item of suite.cases) {
    if (options.signal?.aborted) throw new Error('the functional gate was stopped');
    let got = await judge(
      endpoint,
      item,
      options.headers ?? {},
      options.expectColor,
      options.signal,
      options.dispatcher,
    );
    for (
      let again = 1;
      again <= RETRIES_PER_CASE && retried < RETRIES_PER_RUN && askAgain(got) && !options.signal?.aborted;
      again++
    ) {
      retried++;
      await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS * again));
      got = await judge(endpoint, item, options.headers ?? {}, options.expectColor, options.signal, options.dispatcher);
    }
    cases.push({
      name: item.name,
      tags: item.tags,
      expected: item.expect,
      got,
      passed: !('error' in got) && caseMet(item.expect, got),
    });
    options.onProgress?.(cases.length, suite.cases.length);
  }
  const passed = cases.filter((c) => c.passed).length;
  const passRate = passed / cases.length;
  const ok = passRate >= options.minPassRate;
  return {
    gate: 'functional',
    passed: ok,
    samples: cases.length,
    summary: `${passed}/${cases.length} cases passed (${(100 * passRate).toFixed(1)}%; needs ${(100 * options.minPassRate).toFixed(1)}%)${retried === 0 ? '' : `; ${retried} asked again after no answer or a wrong side`}`,
    evidence: { suite: suite.name, endpoint, passed, failed: cases.length - passed, passRate, retried, cases },
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}
