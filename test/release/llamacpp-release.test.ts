// A release from the embedded rules to a GGUF model through llama.cpp, under continuous load: the model's
// instances load it, answer a warm-up, take the traffic at the switch, and no request fails on the way.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { tinyQwen3Gguf } from '../helpers/gguf.js';
import { failedRequests, startLiveLoad } from '../helpers/load.js';
import { predict, quickSpec, startTestUp } from '../helpers/up.js';

describe('a release from lexicon to llamacpp', () => {
  let up: RunningUp;
  const dir = mkdtempSync(join(tmpdir(), 'guardgate-llamacpp-release-'));
  const model = join(dir, 'tiny-qwen3.gguf');
  beforeAll(async () => {
    writeFileSync(model, tinyQwen3Gguf());
    up = await startTestUp();
  });
  afterAll(async () => up?.close());

  it('switches to the model under load with zero failed requests; the shadow gate records the disagreements', async () => {
    const load = startLiveLoad(up.url, {
      bodies: [JSON.stringify({ prompt: 'How do I bake bread?' })],
      connections: 2,
    });
    await up.controller.release(
      quickSpec({
        version: 'tiny-model',
        engine: { kind: 'llamacpp', model, contextSize: 512, threads: 1, maxQueued: 64 },
        gates: {
          // Random weights: the suite would fail them, and they are slower than rules; the shadow gate still compares.
          functional: { enabled: false },
          load: { enabled: false },
          shadow: { durationSeconds: 3, samples: 20, minSamples: 10, minAgreement: 0 },
          watch: { durationSeconds: 2, minRequests: 5 },
        },
      }),
    );
    await up.controller.settled();
    const result = await load.stop();
    const release = (await up.controller.status()).release!;
    expect(`${release.state}: ${release.note}`).toMatch(/^stable/);
    const shadow = release.gates.find((g) => g.gate === 'shadow')!;
    expect(shadow.samples).toBeGreaterThanOrEqual(10);
    expect(failedRequests(result)).toBe(0);
    const after = await predict(up.url);
    expect(after).toMatchObject({ status: 200, version: 'tiny-model' });
    expect(after.body.engine.name).toBe('llamacpp');
  });
});
