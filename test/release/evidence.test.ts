// Gates pass only on evidence: too few samples is inconclusive (and the spec says what that means), an error
// inside a gate fails it with the error as evidence, a spec that cannot work is refused before anything is
// deployed, and no release is left waiting for ever.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { loadReleaseSpec } from '../../src/release/spec.js';
import { DEFAULT_SUITE_PATH } from '../../src/gates/suite.js';
import { until } from '../helpers/router.js';
import { runCli } from '../helpers/cli.js';
import { predict, quickSpec, startTestUp } from '../helpers/up.js';
import { SqliteAuditStore } from '../../src/store/audit/sqlite.js';
import { addApiKey } from '../../src/auth/api-keys.js';
import { postJson, startTestInstance, tempDataDir } from '../helpers/instance.js';

const only = (gates: Record<string, unknown>) => ({
  functional: { enabled: false },
  load: { enabled: false },
  shadow: { enabled: false },
  watch: { enabled: false },
  ...gates,
});

describe('gates and evidence', () => {
  let up: RunningUp;
  beforeAll(async () => {
    up = await startTestUp();
  });
  afterAll(async () => up?.close());
  const settle = async () => {
    await up.controller.settled();
    return (await up.controller.status()).release!;
  };

  it('a watch with too few requests is inconclusive: it rolls back by default, and passes (marked) when the spec says so', async () => {
    await up.controller.release(
      quickSpec({ version: 'quiet-1', gates: only({ watch: { durationSeconds: 1, minRequests: 1_000 } }) }),
    );
    const failed = await settle();
    expect(failed.state).toBe('rolled_back');
    expect(failed.gates.at(-1)).toMatchObject({ gate: 'watch', passed: false, inconclusive: true });
    expect(failed.note).toMatch(
      /watch inconclusive \(onInconclusive: fail\).*INCONCLUSIVE, \d+ of the 1000 requests needed/,
    );
    await up.controller.release(
      quickSpec({
        version: 'quiet-2',
        gates: only({ watch: { durationSeconds: 1, minRequests: 1_000, onInconclusive: 'pass' } }),
      }),
    );
    const passed = await settle();
    expect(passed.state).toBe('stable');
    expect(passed.gates.at(-1)).toMatchObject({ gate: 'watch', passed: false, inconclusive: true });
    await up.controller.rollback();
  });

  it('a shadow gate with no traffic is inconclusive; with onInconclusive: wait the candidate waits for an operator, not the clock', async () => {
    await up.controller.release(
      quickSpec({
        version: 'shadow-wait',
        abortTeardownDelay: 0,
        gates: only({ shadow: { durationSeconds: 1, minSamples: 50, onInconclusive: 'wait', replay: false } }),
      }),
    );
    await until(async () => (await up.controller.status()).release?.state === 'blocked', 30_000);
    const blocked = (await up.controller.status()).release!;
    expect(blocked.gates[0]).toMatchObject({ gate: 'shadow', inconclusive: true, samples: 0 });
    expect(blocked.transitions.at(-1)!.note).toMatch(/waiting for an operator/);
    // Three times the gate's duration later, nobody has decided: still blocked, the candidate still there.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await up.controller.status()).release).toMatchObject({ version: 'shadow-wait', state: 'blocked' });
    expect(up.driver.describe(blocked.candidate)).not.toBeNull();
    await up.controller.abort();
    expect((await up.controller.status()).release!.state).toBe('aborted');
  });

  it('with no live traffic, the shadow gate replays a corpus to both colors and compares the answers: evidence, not audit', async () => {
    const audit = new SqliteAuditStore(join((up as RunningUp & { dataDir: string }).dataDir, 'audit.sqlite'));
    const before = await audit.count();
    await up.controller.release(
      quickSpec({
        version: 'replayed',
        gates: only({ shadow: { durationSeconds: 1, samples: 30, minSamples: 20, minAgreement: 0.9 } }),
      }),
    );
    const release = await settle();
    expect(release.state).toBe('stable');
    const shadow = release.gates[0] as {
      evidence: { samples: number; sources: { mirrored: number; replayed: number } };
      inconclusive: boolean;
      passed: boolean;
    };
    expect(shadow).toMatchObject({ passed: true, inconclusive: false });
    // The audit keeps digests only here: nothing of it can be replayed, the corpus is.
    expect(shadow.evidence.sources).toEqual({
      mirrored: 0,
      replayed: shadow.evidence.samples,
      replayedFrom: { audit: 0, corpus: shadow.evidence.samples },
    });
    expect(shadow.evidence.samples).toBeGreaterThanOrEqual(30);
    // One user request after the replay: the audit grows by exactly that one.
    expect((await predict(up.url)).status).toBe(200);
    await until(async () => (await audit.count()) > before, 10_000);
    expect(await audit.count()).toBe(before + 1);
    await audit.close();
    await up.controller.rollback();
  });

  it('when the audit keeps texts, the shadow gate replays the last audited texts first (each once), then the corpus', async () => {
    const dataDir = tempDataDir();
    const withTexts = await startTestUp(dataDir, { GUARDGATE_AUDIT_TEXT: 'full' });
    try {
      for (let i = 0; i < 25; i++)
        expect((await predict(withTexts.url, `What is a good name for a cat, idea ${i}?`)).status).toBe(200);
      for (let i = 0; i < 5; i++)
        expect((await predict(withTexts.url, 'What is a good name for a cat, idea 0?')).status).toBe(200);
      const audit = new SqliteAuditStore(join(dataDir, 'audit.sqlite'));
      await until(async () => (await audit.count()) >= 30, 10_000);
      await audit.close();
      await withTexts.controller.release(
        quickSpec({
          version: 'replayed-audit',
          gates: only({ shadow: { durationSeconds: 1, samples: 40, minSamples: 20, replay: { audit: 100 } } }),
        }),
      );
      await withTexts.controller.settled();
      const release = (await withTexts.controller.status()).release!;
      expect(release.state).toBe('stable');
      const evidence = release.gates[0]!.evidence as {
        samples: number;
        sources: { mirrored: number; replayed: number; replayedFrom: { audit: number; corpus: number } };
      };
      expect(evidence.sources.replayedFrom.audit).toBe(25); // 25 distinct texts were audited
      expect(evidence.sources.replayedFrom.corpus).toBe(evidence.samples - 25);
    } finally {
      await withTexts.close();
    }
  });

  it('the load and watch gates say how far they are while they run', async () => {
    const seen: string[] = [];
    const watcher = setInterval(() => {
      const p = up.controller.progress;
      if (p?.detail !== undefined && seen.at(-1) !== `${p.step}: ${p.detail}`) seen.push(`${p.step}: ${p.detail}`);
    }, 50);
    try {
      await up.controller.release(
        quickSpec({
          version: 'progress',
          gates: only({
            load: { durationSeconds: 2, connections: 2, tolerance: { p99: 3, qps: 0.8, errorRate: 0 } },
            watch: { durationSeconds: 3, minRequests: 1_000, onInconclusive: 'pass' },
          }),
        }),
      );
      await settle();
    } finally {
      clearInterval(watcher);
    }
    expect(seen).toContainEqual(expect.stringMatching(/^load gate: active [12]\/2 s, \d+ requests, 0 failed$/));
    expect(seen).toContainEqual(expect.stringMatching(/^load gate: candidate [12]\/2 s, \d+ requests, 0 failed$/));
    expect(seen).toContainEqual(
      expect.stringMatching(
        /^watch gate: \d+ requests \(1000 needed\), [\d.]+% errors, p99 (not yet known|\d+ ms); \d+ s left$/,
      ),
    );
    await up.controller.rollback();
  });

  it('refuses, before deploying anything, a spec that expects another driver or traffic, or that this driver cannot deploy', async () => {
    const before = (await up.controller.status()).release?.id;
    await expect(
      up.controller.release(quickSpec({ version: 'elsewhere', driver: 'kubernetes' })),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/expects driver kubernetes; this deployment runs local/),
    });
    await expect(up.controller.release(quickSpec({ version: 'routed', traffic: 'gateway-api' }))).rejects.toMatchObject(
      {
        code: 'invalid_request',
        message: expect.stringMatching(/expects traffic gateway-api; this deployment moves traffic by router/),
      },
    );
    const withModel = quickSpec({
      version: 'with-model',
      engine: { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1' },
      modelServer: { image: 'vllm/vllm-openai:v0.10.1' },
    });
    await expect(up.controller.release(withModel)).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/needs the kubernetes driver/),
    });
    expect((await up.controller.status()).release?.id).toBe(before);
  });

  it('up refuses a misspelt audit text policy or schema name instead of taking a default', async () => {
    await expect(startTestUp(undefined, { GUARDGATE_AUDIT_TEXT: 'ful' })).rejects.toThrow(/GUARDGATE_AUDIT_TEXT/);
    await expect(startTestUp(undefined, { GUARDGATE_AUDIT_SCHEMA: 'audit; drop table x' })).rejects.toThrow(
      /GUARDGATE_AUDIT_SCHEMA/,
    );
  });

  it("the dashboard and an instance's /version show one configuration hash for an environment", async () => {
    const status = await up.controller.status();
    const active = status.environments[status.active]!;
    const version = (await (await fetch(`${active.instances[0]!.url}/version`)).json()) as { config_hash: string };
    expect(active.configHash).toMatch(/^[0-9a-f]{16}$/);
    expect(version.config_hash).toBe(active.configHash);
  });

  it('refuses a spec whose suite cannot be read before deploying anything; a relative suite is read beside the spec file', async () => {
    await expect(
      up.controller.release(
        quickSpec({ version: 'no-suite', gates: only({ functional: { suite: '/nonexistent/suite.yaml' } }) }),
      ),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^gates.functional.suite: cannot read config file/),
    });
    expect((await up.controller.status()).release?.version).not.toBe('no-suite');
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-spec-'));
    writeFileSync(join(dir, 'my-suite.yaml'), readFileSync(DEFAULT_SUITE_PATH));
    writeFileSync(join(dir, 'release.yaml'), 'version: rel-suite\ngates:\n  functional:\n    suite: ./my-suite.yaml\n');
    expect(loadReleaseSpec(join(dir, 'release.yaml')).gates.functional.suite).toBe(join(dir, 'my-suite.yaml'));

    // `guardgate release` reads the suite beside the spec and sends it inline: the controller reads no path it is sent.
    writeFileSync(
      join(dir, 'impossible.yaml'),
      'name: mine-impossible\ncases:\n  - { name: hello is unsafe, prompt: "Hello", expect: { safety: Unsafe } }\n',
    );
    writeFileSync(join(dir, 'cli.yaml'), 'version: cli-suite\ngates:\n  functional:\n    suite: ./impossible.yaml\n');
    const cli = runCli([
      'release',
      join(dir, 'cli.yaml'),
      '--wait',
      '--data-dir',
      (up as RunningUp & { dataDir: string }).dataDir,
    ]);
    expect(await cli.exited, cli.stderr()).toBe(3); // a gate failed
    const release = await settle();
    expect(release).toMatchObject({ version: 'cli-suite', state: 'aborted' });
    expect(release.gates[0]).toMatchObject({
      gate: 'functional',
      passed: false,
      evidence: { suite: 'mine-impossible', failed: 1 },
    });
  });

  it('an error inside a gate fails it with the error as evidence: the release ends, and the next one can start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-suite-'));
    const suite = join(dir, 'suite.yaml');
    writeFileSync(suite, readFileSync(DEFAULT_SUITE_PATH));
    await up.controller.release(
      quickSpec({ version: 'broken-gate', abortTeardownDelay: 0, gates: only({ functional: { suite } }) }),
    );
    rmSync(suite); // gone by the time the gate reads it (the candidate is still starting)
    const release = await settle();
    expect(release.state).toBe('aborted');
    expect(release.gates[0]).toMatchObject({
      gate: 'functional',
      passed: false,
      evidence: { error: expect.stringMatching(/cannot read config file/) },
    });
    await up.controller.release(quickSpec({ version: 'after-broken', gates: only({}) }));
    expect((await settle()).state).toBe('stable');
  });

  it('gate traffic is evidence, not user traffic: nothing of it is audited, and the load gate is not answered from the cache', async () => {
    const audit = new SqliteAuditStore(join((up as RunningUp & { dataDir: string }).dataDir, 'audit.sqlite'));
    try {
      const before = await audit.count();
      await up.controller.release(
        quickSpec({
          version: 'evidence-only',
          gates: only({
            functional: {},
            load: { durationSeconds: 1, connections: 4, tolerance: { p99: 10, qps: 0.95, errorRate: 0 } },
          }),
        }),
      );
      const release = await settle();
      expect(release.state).toBe('stable');
      expect(release.gates.map((g) => [g.gate, g.passed])).toEqual([
        ['functional', true],
        ['load', true],
      ]);
      expect(release.gates[1]!.samples).toBeGreaterThan(50);
      // The new active instance answered only the gates so far: never once looked up in the verdict cache (the
      // load gate's few texts asked again and again would otherwise be answered from it, measuring the cache).
      const instance = up.driver.describe(release.candidate)!.instances[0]!;
      const lookUps = async () =>
        (await (await fetch(`${instance.url}/metrics`)).text())
          .split('\n')
          .filter((line) => line.startsWith('guardgate_cache_requests_total{'));
      expect(await lookUps()).toEqual([]);
      // One user request after the gates: the audit grows by exactly that one.
      expect((await predict(up.url)).status).toBe(200);
      expect((await lookUps()).join('\n')).toMatch(/result="miss"\} 1$/);
      await until(async () => (await audit.count()) > before, 10_000);
      expect(await audit.count()).toBe(before + 1);
    } finally {
      await audit.close();
    }
  });
});

describe('the evidence flag is an admin privilege', () => {
  it('an admin credential marks traffic as evidence (not audited, not cached); anyone else is audited and cached as usual', async () => {
    const dataDir = tempDataDir();
    const keys = join(dataDir, 'keys.json');
    const admin = addApiKey(keys, 'gate-runner', ['admin']);
    const user = addApiKey(keys, 'user', ['moderate']);
    const instance = await startTestInstance({ dataDir, apiKeys: keys });
    const ask = (key: string) =>
      postJson(
        `${instance.url}/predict`,
        { prompt: 'What is the capital of Peru?' },
        { authorization: `Bearer ${key}`, 'x-guardgate-evidence': '1' },
      );
    expect((await ask(admin)).body.cached).toBe(false);
    expect((await ask(admin)).body.cached).toBe(false); // never from the cache
    expect((await ask(user)).body.cached).toBe(false);
    expect((await ask(user)).body.cached).toBe(true); // the flag means nothing without the privilege
    await instance.shutdown();
    const store = new SqliteAuditStore(join(dataDir, 'audit.sqlite'));
    expect(await store.count()).toBe(2);
    await store.close();
  });
});
