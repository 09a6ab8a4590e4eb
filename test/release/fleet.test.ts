// One release over several targets (here two local `guardgate up`s, each with its own controller and state), in
// waves, with one record across them: stable everywhere with zero failed requests; a target that fails rolls
// back every target that switched; run again, it keeps what is already stable.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RunningUp } from '../../src/app/up.js';
import { fleetRelease } from '../../src/fleet/cli.js';
import type { FleetEvent } from '../../src/fleet/run.js';
import { failedRequests, startLiveLoad } from '../helpers/load.js';
import { quickSpec, startTestUp } from '../helpers/up.js';

const spec = (version: string) =>
  quickSpec({
    version,
    gates: { load: { enabled: false }, shadow: { enabled: false }, watch: { durationSeconds: 2, minRequests: 5 } },
  });

/** A fleet file over these `up`s (tokens in files beside it), waves as given. */
function fleetFile(ups: Record<string, RunningUp>, waves: string[][]): { file: string; record: string } {
  const dir = mkdtempSync(join(tmpdir(), 'guardgate-fleet-'));
  const targets: Record<string, { adminUrl: string; tokenFile: string }> = {};
  for (const [name, up] of Object.entries(ups)) {
    writeFileSync(join(dir, `${name}.token`), up.token, { mode: 0o600 });
    targets[name] = { adminUrl: up.adminUrl, tokenFile: `${name}.token` };
  }
  writeFileSync(
    join(dir, 'fleet.yaml'),
    stringify({ targets, waves, record: 'history.jsonl', targetTimeoutSeconds: 120 }),
  );
  return { file: join(dir, 'fleet.yaml'), record: join(dir, 'history.jsonl') };
}
const recorded = (record: string) =>
  readFileSync(record, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as FleetEvent)
    .map((e) => `${e.target ?? 'fleet'} ${e.event}`);

describe('fleet releases', () => {
  let east: RunningUp;
  let west: RunningUp;
  beforeAll(async () => {
    [east, west] = await Promise.all([startTestUp(), startTestUp()]);
  });
  afterAll(async () => Promise.all([east?.close(), west?.close()]));

  it('releases over two targets in two waves, stable everywhere with zero failed requests, one record across them', async () => {
    const loads = [startLiveLoad(east.url), startLiveLoad(west.url)];
    const { file, record } = fleetFile({ east, west }, [['east'], ['west']]);
    const outcome = await fleetRelease(spec('fleet-v2'), file, () => undefined);
    const results = await Promise.all(loads.map((l) => l.stop()));
    expect(outcome).toMatchObject({ outcome: 'stable', targets: { east: 'stable', west: 'stable' } });
    expect(results.map(failedRequests)).toEqual([0, 0]);
    for (const up of [east, west]) {
      const status = await up.controller.status();
      expect(status.release).toMatchObject({ version: 'fleet-v2', state: 'stable' });
      expect(status.environments[status.active]).toMatchObject({ version: 'fleet-v2' });
    }
    // West started only once east was stable.
    expect(recorded(record)).toEqual([
      'fleet fleet_started',
      'east started',
      'east stable',
      'west started',
      'west stable',
      'fleet fleet_stable',
    ]);
    // Run again (a restarted fleet run): what is stable on this version is kept, nothing is released twice.
    const again = await fleetRelease(spec('fleet-v2'), file, () => undefined);
    expect(again.outcome).toBe('stable');
    expect(recorded(record).slice(6)).toEqual(['fleet fleet_started', 'east kept', 'west kept', 'fleet fleet_stable']);
    expect((await east.controller.history(10)).filter((r) => r.version === 'fleet-v2')).toHaveLength(1);
  });

  it('a canary over the fleet: every target steps its own canary on its own live traffic, then switches', async () => {
    const loads = [startLiveLoad(east.url), startLiveLoad(west.url)];
    const { file } = fleetFile({ east, west }, [['east', 'west']]);
    const canary = quickSpec({
      version: 'fleet-canary',
      strategy: 'canary',
      canary: { steps: [{ weight: 50, durationSeconds: 2, minRequests: 10, minSamples: 5 }] },
      gates: { load: { enabled: false }, shadow: { enabled: false }, watch: { durationSeconds: 2, minRequests: 5 } },
    });
    const outcome = await fleetRelease(canary, file, () => undefined);
    const results = await Promise.all(loads.map((l) => l.stop()));
    expect(outcome).toMatchObject({ outcome: 'stable', targets: { east: 'stable', west: 'stable' } });
    expect(results.map(failedRequests)).toEqual([0, 0]);
    for (const up of [east, west]) {
      const release = (await up.controller.history(1))[0]!;
      expect(release).toMatchObject({ version: 'fleet-canary', state: 'stable' });
      expect(release.transitions.map((t) => t.note ?? '')).toContainEqual(
        expect.stringMatching(/^canary step 1 passed at 50%: \d+ requests/),
      );
    }
  });

  it('resumes a fleet whose runner stopped mid-wave: the release it had started is awaited, not started again', async () => {
    const { file, record } = fleetFile({ east, west }, [['east', 'west']]);
    const loads = [startLiveLoad(east.url), startLiveLoad(west.url)];
    // The runner had started east's release, then died.
    const started = await east.controller.release(spec('fleet-v4'));
    const outcome = await fleetRelease(spec('fleet-v4'), file, () => undefined);
    expect((await Promise.all(loads.map((l) => l.stop()))).map(failedRequests)).toEqual([0, 0]);
    expect(outcome, outcome.reason).toMatchObject({ outcome: 'stable', targets: { east: 'stable', west: 'stable' } });
    expect(recorded(record)).toEqual(
      expect.arrayContaining(['east resumed', 'west started', 'east stable', 'west stable', 'fleet fleet_stable']),
    );
    expect((await east.controller.history(10)).filter((r) => r.version === 'fleet-v4').map((r) => r.id)).toEqual([
      started.id,
    ]);
  });

  it('a target of the second wave that fails rolls back the first wave, which had switched', async () => {
    const lost = await startTestUp();
    const { file, record } = fleetFile({ east, lost }, [['east'], ['lost']]);
    await lost.close(); // the second region is gone before its wave
    const before = await east.controller.status();
    const load = startLiveLoad(east.url);
    const outcome = await fleetRelease(spec('fleet-v3'), file, () => undefined);
    const result = await load.stop();
    expect(failedRequests(result), JSON.stringify(result.statusCodeStats) + JSON.stringify(result.errors)).toBe(0);
    expect(outcome).toMatchObject({ outcome: 'rolled_back', targets: { east: 'rolled_back' } });
    expect(outcome.reason).toMatch(/^lost: nothing answers/);
    const after = await east.controller.status();
    expect(after.active).toBe(before.active);
    expect(after.release).toMatchObject({ version: 'fleet-v3', state: 'rolled_back' });
    expect(recorded(record)).toEqual([
      'fleet fleet_started',
      'east started',
      'east stable',
      'lost failed',
      'east rolled_back',
      'fleet fleet_rolled_back',
    ]);
  });
});
