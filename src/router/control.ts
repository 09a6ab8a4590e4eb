// What the admin API and the release controller drive: one router process, or a cluster of router
// workers behind one port (cluster.ts). Every change of traffic policy or membership makes a new state
// with the next epoch; a change is done when every process serving traffic has applied it.
import { GuardgateError } from '../vocabulary/errors.js';
import type { MirrorListener } from './mirror.js';
import { isColor, type Color } from '../vocabulary/colors.js';
import type { PoolSettings } from './settings.js';

/** One instance as the router sees it. */
export interface InstanceStatus {
  url: string;
  health: string;
  inFlight: number;
  ejections: number;
  /** Why it was last taken out of rotation, and when: what an operator asks first of a 503. */
  lastEjection: Ejection | null;
}

/** One time an instance left rotation: the failure that tipped it (a check's answer, its timeout, a refused connection). */
export interface Ejection {
  reason: string;
  at: string;
}

/** One color's pool as the router sees it. */
export interface PoolStatus {
  version: string | null;
  healthy: number;
  instances: InstanceStatus[];
}

/** The router's status: the policy and both pools. */
export interface RouterStatus {
  active: Color;
  standby: Color;
  standbyWeight: number;
  stickyHeader: string | null;
  mirrorFraction: number;
  switches: number;
  lastSwitchAt: string | null;
  /** The state every serving process has applied (responses carry it as `x-guardgate-epoch`). */
  epoch: number;
  /** Processes serving traffic: 1, or the cluster's workers. */
  workers: number;
  pools: Record<Color, PoolStatus>;
}

/** What a switch did: from which color to which, when, in which epoch. */
export interface SwitchResult {
  previous: Color;
  active: Color;
  at: string;
  epoch: number;
}

/** The traffic policy and membership: what a router process applies, whole, at each epoch. */
export interface RouterState {
  epoch: number;
  active: Color;
  /** Percentage (0 to 100) of live traffic sent to the standby: a canary. */
  standbyWeight: number;
  stickyHeader: string | null;
  /** Fraction (0 to 1) of live requests mirrored to the standby. */
  mirrorFraction: number;
  pools: Record<Color, PoolSettings>;
}

/** Requests answered by each color, and how many failed (5xx). */
export type TrafficCounts = Record<Color, { total: number; errors: number }>;

/** The upstream latency histogram of one color: cumulative (upper bound in seconds, count) pairs. */
export type LatencyBuckets = Array<[number, number]>;

/** How the router is driven: in process, or as a cluster of workers (one interface). */
export interface RouterControl {
  readonly url: string;
  readonly previewUrl: string | null;
  readonly active: Color;
  /** Instances of a color every serving process sees healthy (a switch to a color with none is refused). */
  healthyCount(color: Color): Promise<number>;
  switchTo(to: Color, options?: { force?: boolean }): Promise<SwitchResult>;
  setWeights(standbyWeight: number, stickyHeader?: string | null): Promise<void>;
  setMirror(fraction: number): Promise<void>;
  setPool(color: Color, instances: readonly string[], version: string | null): Promise<void>;
  onMirrorPair(listener: MirrorListener): () => void;
  status(): Promise<RouterStatus>;
  /** Requests so far by color; `reason` narrows to live (`active`), preview or canary traffic. */
  traffic(reason?: 'active' | 'preview' | 'canary'): Promise<TrafficCounts>;
  latencyBuckets(color: Color): Promise<LatencyBuckets>;
  /** The Prometheus exposition of every serving process's metrics. */
  metricsText(): Promise<{ contentType: string; body: string }>;
  close(): Promise<void>;
}

// Pure transitions: validate a change against the current state, return the next one.

/** The router's state before any switch. */
export function initialState(active: Color, pools: Record<Color, PoolSettings>): RouterState {
  return {
    epoch: 1,
    active,
    standbyWeight: 0,
    stickyHeader: null,
    mirrorFraction: 0,
    pools: { blue: { ...pools.blue }, green: { ...pools.green } },
  };
}

/** The next state: refuses a color with no healthy instance unless forced; a switch ends any canary split. */
export function switched(state: RouterState, to: unknown, healthy: number, force: boolean): RouterState {
  if (!isColor(to)) throw new GuardgateError('invalid_request', 'color must be "blue" or "green"');
  if (healthy === 0 && !force)
    throw new GuardgateError(
      'switch_refused',
      `the ${to} environment has no healthy instance; not switching (force to override)`,
    );
  return { ...state, epoch: state.epoch + 1, active: to, standbyWeight: 0 };
}

/** The state with a canary weight (and its sticky header). */
export function weighted(state: RouterState, standbyWeight: number, stickyHeader: string | null): RouterState {
  if (!(standbyWeight >= 0 && standbyWeight <= 100))
    throw new GuardgateError('invalid_request', 'standby weight must be between 0 and 100');
  return {
    ...state,
    epoch: state.epoch + 1,
    standbyWeight,
    stickyHeader: stickyHeader === null ? null : stickyHeader.toLowerCase(),
  };
}

/** The state with a mirror fraction (zero when mirroring is not possible). */
export function mirrored(state: RouterState, fraction: number, possible: boolean): RouterState {
  if (!(fraction >= 0 && fraction <= 1))
    throw new GuardgateError('invalid_request', 'mirror fraction must be between 0 and 1');
  if (fraction > 0 && !possible)
    throw new GuardgateError(
      'invalid_state',
      'mirroring needs a router secret shared with the instances (routerSecret, GUARDGATE_ROUTER_SECRET)',
    );
  return { ...state, epoch: state.epoch + 1, mirrorFraction: fraction };
}

/** The state with one color's pool replaced. */
export function withPool(
  state: RouterState,
  color: Color,
  instances: readonly string[],
  version: string | null,
): RouterState {
  return {
    ...state,
    epoch: state.epoch + 1,
    pools: { ...state.pools, [color]: { instances: [...instances], version } },
  };
}

/** A Prometheus counter's values (prom-client's `get().values`) as traffic by color. */
export function trafficOf(
  values: ReadonlyArray<{ labels: Record<string, string | number | undefined>; value: number }>,
  reason?: string,
): TrafficCounts {
  const out: TrafficCounts = { blue: { total: 0, errors: 0 }, green: { total: 0, errors: 0 } };
  for (const { labels, value } of values) {
    const counts = out[labels.color as Color];
    if (counts === undefined || (reason !== undefined && labels.reason !== reason)) continue;
    counts.total += value;
    // A client that went away (aborted, nginx's 499) is not the service failing.
    if (String(labels.status_code).startsWith('5')) counts.errors += value;
  }
  return out;
}

/** A histogram's values (prom-client's `get().values`) as one color's cumulative buckets. */
export function bucketsOf(
  values: ReadonlyArray<{ metricName?: string; labels: Record<string, string | number | undefined>; value: number }>,
  color: Color,
): LatencyBuckets {
  return values
    .filter((v) => v.metricName?.endsWith('_bucket') && v.labels.color === color)
    .map((v) => [v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), v.value] as [number, number])
    .sort((a, b) => a[0] - b[0]);
}
