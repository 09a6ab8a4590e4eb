// The release pipeline end to end, in process: gates, switch, watch, rollback, abort, force, one at a time.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { otherColor } from '../../src/vocabulary/colors.js';
import type { FakeOpenAI } from '../helpers/fake-openai.js';
import { failedRequests, startLiveLoad } from '../helpers/load.js';
import { until } from '../helpers/router.js';
import { predict, quickSpec, releaseBench } from '../helpers/up.js';

describe('release controller', () => {
  const bench = releaseBench();
  const settle = bench.settle;
  let up: RunningUp;
  let fake: FakeOpenAI;
  beforeEach(() => {
    [up, fake] = [bench.up(), bench.fake()];
  });
  /** A release with no gates, to reach a switched state quickly. */
  const switchedRelease = async (version: string) => {
    await up.controller.release(
      quickSpec({
        version,
        gates: {
          functional: { enabled: false },
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { enabled: false },
        },
      }),
    );
    const release = await settle();
    expect(release.state).toBe('stable');
    return release;
  };

  it('starts with blue active, serving, recorded', async () => {
    expect(await up.controller.status()).toMatchObject({
      active: 'blue',
      environments: { blue: { version: 'initial' }, green: null },
    });
    expect(await predict(up.url)).toMatchObject({ status: 200, color: 'blue', version: 'initial' });
  });

  it('releases a candidate through every gate under live load, with zero failed requests, and records it all', async () => {
    // The load lasts until the release has ended: the shadow and watch gates need live traffic, however long deploying takes.
    const load = startLiveLoad(up.url);
    await until(() => load.answered() > 0, 10_000, 'the live load answered');
    await up.controller.release(
      quickSpec({
        version: 'v2',
        replicas: 2,
        previewReplicas: 1,
        gates: {
          shadow: { durationSeconds: 5, samples: 30, minSamples: 10 },
          load: { durationSeconds: 1, connections: 4, tolerance: { p99: 3, qps: 0.8, errorRate: 0 } },
          watch: { durationSeconds: 2, minRequests: 5 },
        },
      }),
    );
    const release = await settle();
    const result = await load.stop();
    expect(release.state, release.gates.map((g) => g.summary).join('\n')).toBe('stable');
    expect(failedRequests(result)).toBe(0);
    expect(release.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['functional', true],
      ['load', true],
      ['shadow', true],
      ['watch', true],
    ]);
    const shadow = release.gates.find((g) => g.gate === 'shadow')!.evidence as {
      samples: number;
      agreement: number;
      matrix: Record<string, Record<string, number>>;
    };
    expect(shadow.samples).toBeGreaterThanOrEqual(10);
    expect(shadow.agreement).toBe(1);
    expect(shadow.matrix.Unsafe!.Unsafe).toBe(shadow.samples);
    expect(release.transitions.map((t) => t.to)).toEqual([
      'deploying',
      'validating',
      'validating',
      'validating',
      'validating',
      'switching',
      'watching',
      'stable',
    ]);
    const status = await up.controller.status();
    expect(status).toMatchObject({
      active: 'green',
      environments: { green: { version: 'v2', replicas: 2 }, blue: { version: 'initial' } },
    });
    expect(status.environments.blue!.retireAt).not.toBeNull();
    expect(await predict(up.url)).toMatchObject({ color: 'green', version: 'v2' });
  });

  it('rolls back in one step while the old environment is kept', async () => {
    const before = (await up.controller.status()).active;
    await switchedRelease('v-rollback');
    const kept = (await up.controller.status()).environments[before]!.instances.map((i) => i.url);
    const release = await up.controller.view(await up.controller.rollback());
    expect(release.state).toBe('rolled_back');
    // No redeploy: the very processes that were kept serve again.
    expect((await up.controller.status()).environments[before]!.instances.map((i) => i.url)).toEqual(kept);
    expect(release.transitions.at(-1)).toMatchObject({ from: 'stable', to: 'rolled_back' });
    expect((await up.controller.status()).active).toBe(before);
    expect(await predict(up.url)).toMatchObject({ color: before });
  });

  it('keeps the old environment for a scaleDownDelay past 24.8 days (a timer that long would fire at once)', async () => {
    const before = (await up.controller.status()).active;
    await up.controller.release(
      quickSpec({
        version: 'v-kept-30d',
        scaleDownDelay: '720h',
        gates: {
          functional: { enabled: false },
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { enabled: false },
        },
      }),
    );
    expect((await settle()).state).toBe('stable');
    // A timer fires on the next turn of the loop when it overflows: a second later the old color must still be there.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await up.controller.status()).environments[before]).toMatchObject({ retireAt: expect.any(String) });
    expect((await up.controller.status()).environments[before]!.instances.length).toBeGreaterThan(0);
    await up.controller.view(await up.controller.rollback());
  });

  it('a failed gate aborts: the active environment is untouched and the candidate torn down', async () => {
    const active = (await up.controller.status()).active;
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-suite-'));
    const suite = join(dir, 'impossible.yaml');
    writeFileSync(
      suite,
      'name: impossible\ncases:\n  - { name: greeting is unsafe, prompt: "Hello there", expect: { safety: Unsafe } }\n',
    );
    await up.controller.release(quickSpec({ version: 'v3', gates: { functional: { suite } } }));
    const release = await settle();
    expect(release.state).toBe('aborted');
    expect(release.note).toBe('functional gate failed');
    expect(release.gates).toHaveLength(1);
    expect(release.gates[0]).toMatchObject({ gate: 'functional', passed: false });
    expect(await up.controller.status()).toMatchObject({ active, environments: { [otherColor(active)]: null } });
    expect(await predict(up.url)).toMatchObject({ color: active });
    // Its instances left the router before they stopped: none is checked, ejected or shown any more.
    const pool = (await up.router.router.status()).pools[otherColor(active)];
    expect(pool.instances).toEqual([]);
  });

  it('promote --force takes a blocked release past a failed gate, recorded as forced', async () => {
    const active = (await up.controller.status()).active;
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-suite-'));
    const suite = join(dir, 'impossible.yaml');
    writeFileSync(
      suite,
      'name: impossible\ncases:\n  - { name: greeting is unsafe, prompt: "Hello there", expect: { safety: Unsafe } }\n',
    );
    await up.controller.release(
      quickSpec({
        version: 'v4',
        abortTeardownDelay: '30s',
        gates: {
          functional: { suite },
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { enabled: false },
        },
      }),
    );
    await until(async () => (await up.controller.status()).release?.state === 'blocked', 15_000);
    await expect(up.controller.promote(false)).rejects.toThrow(/promote --force/);
    await up.controller.promote(true);
    const release = await settle();
    expect(release).toMatchObject({ state: 'stable', forced: true });
    expect(release.transitions.map((t) => t.to)).toContain('blocked');
    expect((await up.controller.status()).active).toBe(otherColor(active));
  });

  it('waits for approval when autoPromote is off, and one release at a time', async () => {
    const active = (await up.controller.status()).active;
    await up.controller.release(
      quickSpec({
        version: 'v5',
        autoPromote: false,
        gates: { load: { enabled: false }, shadow: { enabled: false }, watch: { enabled: false } },
      }),
    );
    await expect(up.controller.release(quickSpec({ version: 'v6' }))).rejects.toThrow(/still in progress/);
    await until(async () => (await up.controller.status()).release?.state === 'awaiting_approval', 15_000);
    expect((await up.controller.status()).active).toBe(active);
    await up.controller.promote(false);
    expect((await settle()).state).toBe('stable');
    expect(await up.controller.status()).toMatchObject({
      active: otherColor(active),
      environments: { [otherColor(active)]: { version: 'v5' } },
    });
  });

  it('a slower candidate fails the load gate: the active environment keeps serving', async () => {
    const active = (await up.controller.status()).active;
    fake.behaviour = { kind: 'slow', ms: 40 };
    try {
      await up.controller.release(
        quickSpec({
          version: 'v-slow',
          engine: { kind: 'openai', baseUrl: fake.baseUrl, timeoutMs: 5_000 },
          gates: {
            functional: { enabled: false },
            load: { durationSeconds: 2, connections: 4, tolerance: { p99: 0.5, qps: 0.3, errorRate: 0 } },
            shadow: { enabled: false },
            watch: { enabled: false },
          },
        }),
      );
      const release = await settle();
      expect(release.state).toBe('aborted');
      expect(release.gates[0]).toMatchObject({ gate: 'load', passed: false });
      // Slower shows as latency or, on a busy machine where the candidate's 4 connections wait on it, as QPS.
      expect(release.gates[0]!.summary).toMatch(
        /(p99 [\d.]+ ms is over|QPS \d+ is under) .* in \d+ of \d+ paired slices/,
      );
    } finally {
      fake.behaviour = { kind: 'model' };
    }
    expect((await up.controller.status()).active).toBe(active);
  });

  it('a candidate that lets harmful prompts through fails the shadow gate on its Unsafe-to-Safe flips', async () => {
    const active = (await up.controller.status()).active;
    fake.behaviour = { kind: 'content', content: 'Safety: Safe\nCategories: None' };
    try {
      await up.controller.release(
        quickSpec({
          version: 'v-lenient',
          engine: { kind: 'openai', baseUrl: fake.baseUrl },
          gates: {
            functional: { enabled: false },
            load: { enabled: false },
            shadow: { durationSeconds: 1, samples: 30, minSamples: 20 },
            watch: { enabled: false },
          },
        }),
      );
      const release = await settle();
      expect(release.state).toBe('aborted');
      const shadow = release.gates[0]!;
      expect(shadow).toMatchObject({ gate: 'shadow', passed: false });
      expect((shadow.evidence as { unsafeToSafe: number }).unsafeToSafe).toBeGreaterThan(0);
      expect(shadow.summary).toMatch(/Unsafe-to-Safe flips; at most 0 allowed/);
    } finally {
      fake.behaviour = { kind: 'model' };
    }
    expect((await up.controller.status()).active).toBe(active);
  });

  it('a watch that sees errors rolls back automatically', async () => {
    const active = (await up.controller.status()).active;
    const activeVersion = (await up.controller.status()).environments[active]!.version;
    // The candidate's model server works while it is proven, then fails once it takes traffic.
    const spec = quickSpec({
      version: 'v7-openai',
      engine: { kind: 'openai', baseUrl: fake.baseUrl, timeoutMs: 2_000, retries: 0 },
      gates: {
        load: { enabled: false },
        shadow: { enabled: false },
        watch: { durationSeconds: 6, minRequests: 5, maxErrorRate: 0.01 },
      },
    });
    await up.controller.release(spec);
    await until(async () => (await up.controller.status()).release?.state === 'watching', 20_000);
    fake.behaviour = { kind: 'status', status: 500 };
    const failures = Array.from({ length: 20 }, () => predict(up.url, 'hello'));
    await Promise.all(failures);
    const release = await settle();
    expect(release.state).toBe('rolled_back');
    expect(release.note).toMatch(/^watch failed: .*error rate/);
    expect((await up.controller.status()).active).toBe(active);
    expect(await predict(up.url)).toMatchObject({ status: 200, color: active, version: activeVersion });
    // The rolled-back candidate's instances left the router before they stopped: none is checked or shown any more.
    expect((await up.router.router.status()).pools[otherColor(active)].instances).toEqual([]);
  });
});
