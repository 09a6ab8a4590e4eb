// The load gate on a busy machine: two busy loops take both cores while the same version is released ten
// times, each through the load gate with the shipped example's settings; none may be blocked. A candidate
// twice as slow (its model server answers in 40 ms, not 20) is still blocked, through the same noise.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReleaseSpec } from '../../src/release/spec.js';
import type { RunningUp } from '../../src/app/up.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { tempDataDir } from '../helpers/instance.js';
import { owned } from '../helpers/owned.js';
import { quickSpec, startTestUp } from '../helpers/up.js';

/** The shipped example's load gate (examples/lexicon-v2.yaml), and nothing else. */
const loadOnly = (version: string, baseUrl: string) =>
  quickSpec({
    version,
    engine: { kind: 'openai', baseUrl, timeoutMs: 10_000 },
    gates: {
      functional: { enabled: false },
      load: { durationSeconds: 3, connections: 8, tolerance: { p99: 0.5, qps: 0.3, errorRate: 0 } },
      shadow: { enabled: false },
      watch: { enabled: false },
    },
  });

describe('the load gate under heavy CPU contention', () => {
  let up: RunningUp;
  let model: FakeOpenAI;
  let slowerModel: FakeOpenAI;
  beforeAll(async () => {
    // One busy loop per core, for as long as this file runs.
    for (let i = 0; i < 2; i++) owned(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    [model, slowerModel] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
    model.behaviour = { kind: 'slow', ms: 20 };
    slowerModel.behaviour = { kind: 'slow', ms: 40 };
    up = await startTestUp(
      tempDataDir(),
      {},
      {},
      parseReleaseSpec(
        { version: 'model-v1', engine: { kind: 'openai', baseUrl: model.baseUrl, timeoutMs: 10_000 } },
        'test',
      ),
    );
  });
  afterAll(async () => {
    await up?.close();
    await Promise.all([model?.close(), slowerModel?.close()]);
  });

  it('never blocks the live version released again (10 of 10), and blocks a candidate twice as slow', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      await up.controller.release(loadOnly('model-v1', model.baseUrl));
      await up.controller.settled();
      const release = (await up.controller.status()).release!;
      const gate = release.gates[0];
      // Stable because its load gate measured it and passed it: not skipped, not passed for want of evidence.
      const judged = gate?.gate === 'load' && gate.passed && gate.inconclusive !== true;
      outcomes.push(`${release.state}${judged ? '' : ' (not judged by the load gate)'}: ${gate?.summary}`);
    }
    expect(
      outcomes.filter((o) => !o.startsWith('stable:')),
      outcomes.join('\n'),
    ).toEqual([]);
    await up.controller.release(loadOnly('model-v1-slower', slowerModel.baseUrl));
    await up.controller.settled();
    const slower = (await up.controller.status()).release!;
    // The margins, for a reader of the run: how far the same version and the slower one were from the limits.
    console.log(
      `load gate under contention:\n${outcomes.join('\n')}\nslower: ${slower.state}: ${slower.gates[0]?.summary}`,
    );
    expect(slower.state).toBe('aborted');
    expect(slower.gates[0]).toMatchObject({ gate: 'load', passed: false });
    expect(slower.gates[0]!.summary).toMatch(
      /(p99 [\d.]+ ms is over|QPS \d+ is under) .* in \d of (3|6) paired slices/,
    );
  }, 400_000);
});
