// `guardgate release SPEC --fleet FILE`: the fleet file read, its targets reached, the record appended to, one
// line per event said.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ReleaseSpec } from '../release/spec.js';
import { runFleetRelease, type FleetOutcome } from './run.js';
import { loadFleet } from './spec.js';
import { fleetTargets } from './targets.js';

/** Run `spec` over the fleet of `file`; `say` is told each event as a line. */
export async function fleetRelease(
  spec: ReleaseSpec,
  file: string,
  say: (line: string) => void,
): Promise<FleetOutcome> {
  const fleet = loadFleet(file);
  const targets = fleetTargets(fleet, process.env);
  mkdirSync(dirname(fleet.record), { recursive: true });
  return runFleetRelease(
    spec,
    fleet.waves,
    targets,
    async (event) => {
      appendFileSync(fleet.record, `${JSON.stringify(event)}\n`);
      say(
        `${event.at} ${event.target ?? 'fleet'}: ${event.event}${event.state ? ` (${event.state})` : ''}${event.note ? ` — ${event.note}` : ''}`,
      );
    },
    { targetTimeoutMs: fleet.targetTimeoutSeconds * 1000 },
  );
}
