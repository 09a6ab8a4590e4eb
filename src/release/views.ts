// What the controller shows of itself: its status, a release with its transitions and gates, the progress of a
// long step, and an environment's configuration hash (the admin API, the CLI and the dashboard read these).
import type { Color } from '../vocabulary/colors.js';
import { configHash } from '../vocabulary/config-hash.js';
import type { EnvironmentSpec } from '../drivers/driver.js';
import type { GateReport } from '../gates/report.js';
import type { ReleaseState } from './states.js';
import type { Release, Transition } from './store.js';

/** A release with its transitions and gate reports. */
export interface ReleaseView extends Release {
  transitions: Transition[];
  gates: GateReport[];
}

/** The controller's status: the active color, both environments, the latest release. */
export interface ControllerStatus {
  /** Set while the controller's store does not answer: the rest is what was last known. */
  degraded?: { since: string; error: string | null };
  active: Color;
  environments: Record<Color, EnvironmentStatus | null>;
  release: ReleaseView | null;
}

/** One color's environment as the status shows it. */
export interface EnvironmentStatus {
  version: string;
  replicas: number;
  instances: Array<{ url: string; state: string; restarts: number }>;
  retireAt: string | null;
  /** What the environment was deployed from (engine, model, policy, replicas, image), when the store knows it. */
  spec?: EnvironmentSpec | undefined;
  /** A short digest of that spec: two environments with the same hash run the same configuration. */
  configHash?: string | undefined;
}

/** Progress of a long step, for the CLI and the dashboard. */
export interface Progress {
  releaseId: number;
  state: ReleaseState;
  step: string;
  detail?: string;
  /** The step's figures so far, for charts (shadow: samples and agreement; load: requests and failed). */
  figures?: Record<string, number>;
  startedAt: string;
}

/** An environment's configuration hash (the one definition: vocabulary/config-hash.ts), its color and size aside. */
export const configHashOf = (spec: EnvironmentSpec): string => configHash(spec);
