// Rate limits are for users, not for the gates: a release passes every gate with the README's own user limits
// configured (gate traffic carries the gates' token, whose highest configured scope is `moderate`), while
// evidence traffic has its own bounded budget (`limits.evidence`) and users stay limited.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import type { RunningInstance } from '../../src/instance/run.js';
import type { RunningUp } from '../../src/app/up.js';
import { EVIDENCE_HEADER } from '../../src/shared/headers.js';
import { startTestInstance, tempDataDir } from '../helpers/instance.js';
import { failedRequests, startLiveLoad } from '../helpers/load.js';
import { quickSpec, startTestUp } from '../helpers/up.js';

describe('rate limits and evidence traffic', () => {
  const owned: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of owned.reverse()) await close();
  });

  it('a release under user limits of 5/s passes every gate on evidence, while a user over the limit gets 429', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-limits-'));
    const dataDir = tempDataDir();
    const user = addApiKey(join(dataDir, 'api-keys.json'), 'user', ['moderate']);
    writeFileSync(
      join(dir, 'up.yaml'),
      'auth:\n  rateLimit:\n    limits:\n      moderate: { perSecond: 5, burst: 10 }\n',
    );
    const up: RunningUp = await startTestUp(dataDir, {}, { config: join(dir, 'up.yaml') });
    owned.push(() => up.close());
    // Live traffic under the limit (a user's), for the shadow and watch gates, until the release has ended.
    const load = startLiveLoad(up.url, {
      connections: 1,
      overallRate: 4,
      headers: { authorization: `Bearer ${user}` },
    });
    await up.controller.release(
      quickSpec({
        version: 'v2',
        gates: {
          load: { durationSeconds: 1, connections: 4, tolerance: { p99: 3, qps: 0.8, errorRate: 0 } },
          shadow: { durationSeconds: 2, samples: 20, minSamples: 10 },
          watch: { durationSeconds: 2, minRequests: 3 },
        },
      }),
    );
    await up.controller.settled();
    const release = (await up.controller.status()).release!;
    const result = await load.stop();
    expect(release.state, release.gates.map((g) => `${g.gate}: ${g.summary}`).join('\n')).toBe('stable');
    expect(release.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['functional', true],
      ['load', true],
      ['shadow', true],
      ['watch', true],
    ]);
    const load429 = release.gates.find((g) => g.gate === 'load')!.evidence as {
      candidate: { errorRate: number };
      active: { errorRate: number };
    };
    expect([load429.candidate.errorRate, load429.active.errorRate]).toEqual([0, 0]);
    expect(failedRequests(result)).toBe(0);

    // The user's own limit still holds: a burst past 10 gets 429.
    const statuses = await Promise.all(
      Array.from(
        { length: 30 },
        async () =>
          (
            await fetch(`${up.url}/predict`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${user}` },
              body: '{"prompt":"hi"}',
            })
          ).status,
      ),
    );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
  }, 120_000);

  it('evidence traffic draws on its own budget (limits.evidence), not on the user limit of its credential', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-limits-'));
    const keysFile = join(dir, 'keys.json');
    const gates = addApiKey(keysFile, 'gates', ['moderate', 'evidence']);
    const configFile = join(dir, 'instance.yaml');
    writeFileSync(
      configFile,
      `auth:\n  apiKeysFile: ${keysFile}\n  rateLimit:\n    limits:\n      moderate: { perSecond: 0.01, burst: 2 }\n      evidence: { perSecond: 0.01, burst: 4 }\n`,
    );
    const instance: RunningInstance = await startTestInstance({ config: configFile });
    owned.push(() => instance.shutdown());
    const call = async (evidence: boolean) =>
      (
        await fetch(`${instance.url}/predict`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${gates}`,
            ...(evidence ? { [EVIDENCE_HEADER]: '1' } : {}),
          },
          body: '{"prompt":"hi"}',
        })
      ).status;
    const asUser = [];
    for (let i = 0; i < 3; i++) asUser.push(await call(false));
    expect(asUser).toEqual([200, 200, 429]);
    // Its user bucket is empty; evidence still has its own four.
    const asEvidence = [];
    for (let i = 0; i < 5; i++) asEvidence.push(await call(true));
    expect(asEvidence).toEqual([200, 200, 200, 200, 429]);
  });
});
