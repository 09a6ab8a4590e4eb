// One release over several targets (clusters, regions, or local `up`s), in waves: every target of a wave releases
// with its own controller, state and gates; the next wave starts once all of them are stable. A target that fails
// stops the fleet: every target that switched to the new version (this wave and those before) is rolled back, and
// any still in progress is aborted. Every step is one line in the fleet's record. Run again with the same version,
// it resumes: targets already stable on it are kept, a release still in progress is awaited.
import type { ReleaseSpec } from '../release/spec.js';
import { isOpen } from '../release/states.js';
import type { ReleaseView } from '../release/views.js';

/** What the fleet needs of one target: its controller, through its admin API (or in process, in tests). */
export interface FleetTarget {
  readonly name: string;
  /** Start the release; returns its id. */
  release(spec: ReleaseSpec): Promise<number>;
  /** The target's latest release, or null. */
  latest(): Promise<ReleaseView | null>;
  rollback(): Promise<void>;
  abort(): Promise<void>;
}

/** One line of the fleet's record. */
export interface FleetEvent {
  at: string;
  version: string;
  target?: string;
  /** started, resumed, kept, stable, failed, rolled_back, aborted; and the fleet's own: fleet_started, fleet_stable, fleet_rolled_back. */
  event: string;
  state?: string;
  note?: string;
}

/** How the fleet ended, with each target's last state. */
export interface FleetOutcome {
  version: string;
  outcome: 'stable' | 'rolled_back';
  targets: Record<string, string>;
  reason?: string;
}

const TERMINAL_OR_WAITING = ['stable', 'aborted', 'rolled_back', 'blocked', 'awaiting_approval'];

/** Wait until the target's release `id` has settled (or waits for an operator), within `timeoutMs`. */
async function settle(target: FleetTarget, id: number, timeoutMs: number, signal: AbortSignal): Promise<ReleaseView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const latest = await target.latest();
    if (latest === null || latest.id !== id) throw new Error(`${target.name}: release #${id} is no longer its latest`);
    if (TERMINAL_OR_WAITING.includes(latest.state)) return latest;
    if (Date.now() > deadline || signal.aborted)
      throw new Error(`${target.name}: release #${id} still ${latest.state} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Run `spec` over the waves; `record` is told every event (and should store it before it returns). */
export async function runFleetRelease(
  spec: ReleaseSpec,
  waves: string[][],
  targets: ReadonlyMap<string, FleetTarget>,
  record: (event: FleetEvent) => Promise<void>,
  options: { targetTimeoutMs: number; signal?: AbortSignal },
): Promise<FleetOutcome> {
  const signal = options.signal ?? new AbortController().signal;
  const note = (event: Omit<FleetEvent, 'at' | 'version'>) =>
    record({ at: new Date().toISOString(), version: spec.version, ...event });
  const states: Record<string, string> = {};
  const switched: FleetTarget[] = [];
  await note({ event: 'fleet_started', note: waves.map((w) => w.join('+')).join(' → ') });
  for (const [index, wave] of waves.entries()) {
    const results = await Promise.allSettled(
      wave.map(async (name) => {
        const target = targets.get(name)!;
        const latest = await target.latest();
        let id: number;
        if (latest?.version === spec.version && latest.state === 'stable') {
          await note({ target: name, event: 'kept', state: 'stable', note: 'already stable on this version' });
          return { ...latest, kept: true };
        }
        if (latest?.version === spec.version && isOpen(latest.state)) {
          id = latest.id;
          await note({ target: name, event: 'resumed', state: latest.state });
        } else {
          id = await target.release(spec);
          await note({ target: name, event: 'started', note: `wave ${index + 1}, release #${id}` });
        }
        return { ...(await settle(target, id, options.targetTimeoutMs, signal)), kept: false };
      }),
    );
    let failure: string | undefined;
    for (const [i, result] of results.entries()) {
      const name = wave[i]!;
      if (result.status === 'fulfilled') {
        states[name] = result.value.state;
        if (['stable', 'watching'].includes(result.value.state)) switched.push(targets.get(name)!);
        if (result.value.state === 'stable') {
          if (!result.value.kept) await note({ target: name, event: 'stable', state: 'stable' });
        } else {
          failure ??= `${name}: ${result.value.state}${result.value.note ? ` (${result.value.note})` : ''}`;
          await note({
            target: name,
            event: 'failed',
            state: result.value.state,
            note: result.value.note ?? undefined,
          });
        }
      } else {
        states[name] = 'unknown';
        failure ??= `${name}: ${(result.reason as Error).message}`;
        await note({ target: name, event: 'failed', note: (result.reason as Error).message });
      }
    }
    if (failure === undefined) continue;
    // The fleet stops: what switched goes back, what is still under way is stopped.
    for (const target of switched) {
      await target.rollback().then(
        () => note({ target: target.name, event: 'rolled_back' }),
        (error: Error) => note({ target: target.name, event: 'rollback_failed', note: error.message }),
      );
      states[target.name] = 'rolled_back';
    }
    for (const name of wave) {
      const latest = await targets
        .get(name)!
        .latest()
        .catch(() => null);
      if (latest !== null && latest.version === spec.version && isOpen(latest.state) && latest.state !== 'watching') {
        await targets
          .get(name)!
          .abort()
          .then(
            () => note({ target: name, event: 'aborted' }),
            (error: Error) => note({ target: name, event: 'abort_failed', note: error.message }),
          );
        states[name] = 'aborted';
      }
    }
    await note({ event: 'fleet_rolled_back', note: failure });
    return { version: spec.version, outcome: 'rolled_back', targets: states, reason: failure };
  }
  await note({ event: 'fleet_stable' });
  return { version: spec.version, outcome: 'stable', targets: states };
}
