// `guardgate up` for controller tests: in process (fast, direct access) or as a process (to kill -9 it).
import { pino } from 'pino';
import { parseRouterConfig, type RouterFlags } from '../../src/config/router.js';
import { parseReleaseSpec, type ReleaseSpec } from '../../src/release/spec.js';
import { startUp, type RunningUp } from '../../src/app/up.js';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { isOpen } from '../../src/release/states.js';
import type { ReleaseView } from '../../src/release/views.js';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.js';
import { tempDataDir } from './instance.js';

export async function startTestUp(
  dataDir = tempDataDir(),
  instanceEnv: NodeJS.ProcessEnv = {},
  flags: RouterFlags = {},
  initial?: ReleaseSpec,
): Promise<RunningUp & { dataDir: string }> {
  const up = await startUp(
    {
      router: parseRouterConfig({ port: '0', adminPort: '0', dataDir, ...flags }, instanceEnv),
      instanceEnv: { ...process.env, ...instanceEnv },
      logLevel: 'warn',
      healthIntervalMs: 100,
      initial,
    },
    pino({ level: 'silent' }),
  );
  return Object.assign(up, { dataDir });
}

/** A quick release spec: short gates, no waiting. */
export const quickSpec = (overrides: Record<string, unknown> = {}): ReleaseSpec =>
  parseReleaseSpec(
    {
      version: 'v2',
      scaleDownDelay: '10m',
      abortTeardownDelay: 0,
      gates: {
        load: { durationSeconds: 1, connections: 4, tolerance: { p99: 3, qps: 0.8, errorRate: 0 } },
        shadow: { durationSeconds: 2, samples: 20, minSamples: 0 },
        watch: { durationSeconds: 2, minRequests: 5 },
      },
      ...overrides,
    },
    'test',
  );

export async function predict(url: string, prompt = 'How can I kill a Python process?') {
  const response = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
  });
  return {
    status: response.status,
    color: response.headers.get('x-guardgate-color'),
    version: response.headers.get('x-guardgate-version'),
    epoch: Number(response.headers.get('x-guardgate-epoch')),
    body: (await response.json()) as any,
  };
}

/**
 * A `guardgate up` and a fake model server for one test file, each test starting with no release in progress,
 * whatever the one before left (a timeout, a failure): switched releases are rolled back, the others aborted.
 */
export function releaseBench(): { up: () => RunningUp; fake: () => FakeOpenAI; settle: () => Promise<ReleaseView> } {
  let up: RunningUp;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    [up, fake] = await Promise.all([startTestUp(), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await up?.close();
    await fake?.close();
  });
  beforeEach(async () => {
    fake.behaviour = { kind: 'model' };
    const open = (await up.controller.status()).release;
    if (open !== null && open !== undefined && isOpen(open.state)) {
      if (['canary', 'switching', 'watching'].includes(open.state)) await up.controller.rollback();
      else await up.controller.abort();
    }
    await up.controller.settled();
  });
  return {
    up: () => up,
    fake: () => fake,
    settle: async () => {
      await up.controller.settled();
      return (await up.controller.status()).release!;
    },
  };
}
