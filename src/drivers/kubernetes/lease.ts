// One controller acts at a time: a coordination.k8s.io Lease `<app>-controller`, with client-go's leader
// election semantics.
// - Expiry is judged by the observer's own clock: a lease is free once its record (holder, renew time,
//   transitions) has not changed for leaseDuration since this controller first saw it so; the holder's
//   renewTime is never compared with the local clock (two nodes' clocks may disagree by minutes).
// - The holder renews every retry period, each API call bounded by a timeout, and stops acting once it has
//   not renewed for renewDeadline (< leaseDuration), whatever call is still in flight: it gives up before
//   anyone else may take the lease, with leaseDuration - renewDeadline as the margin for clock rates.
// - Writes name the version they read, so two candidates never both win.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { readObject, statusOf } from './objects.js';

type LeaseSpec = {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
};
type Lease = KubernetesObject & { spec: LeaseSpec };

/** How the controller holds its Lease. */
export interface LeaseOptions {
  namespace: string;
  name: string;
  /** Who this controller is (its pod name in a cluster). */
  identity: string;
  /** How long others wait, after the record last changed, before they may take the lease. */
  leaseMs: number;
  /** How often the holder renews (and a candidate tries again). */
  renewMs: number;
  /** The holder stops acting when it has not renewed for this long (less than leaseMs; default two thirds of it). */
  renewDeadlineMs?: number;
  /** The longest one API call may take (default: half the renew deadline, at least the retry period). */
  requestTimeoutMs?: number;
}

/** What a candidate saw of the lease record, and when by its own monotonic clock. */
export interface Observation {
  record: string;
  at: number;
}

/** The part of a lease that changes when its holder renews it. Pure. */
export const recordOf = (lease: LeaseSpec | undefined): string =>
  JSON.stringify([
    lease?.holderIdentity ?? '',
    lease?.renewTime ?? '',
    lease?.acquireTime ?? '',
    lease?.leaseTransitions ?? 0,
  ]);

/** The observation after reading `lease` at `now` (local, monotonic): a changed record restarts the clock. Pure. */
export const observe = (previous: Observation | undefined, lease: LeaseSpec | undefined, now: number): Observation => {
  const record = recordOf(lease);
  return previous?.record === record ? previous : { record, at: now };
};

/**
 * Whether `identity` may take the lease: free, already its own, or unchanged for its whole duration since it
 * was observed (by the local clock, never the holder's renewTime). Pure.
 */
export function mayTake(
  lease: LeaseSpec | undefined,
  identity: string,
  observation: Observation,
  now: number,
): boolean {
  if (lease?.holderIdentity === undefined || lease.holderIdentity === '' || lease.holderIdentity === identity)
    return true;
  return now >= observation.at + (lease.leaseDurationSeconds ?? 15) * 1000;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** `promise`, or a rejection after `ms` (the call itself may go on; its answer is then ignored). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const monotonic = (): number => performance.now();

/** One controller at a time: a coordination.k8s.io Lease, renewed within its deadline or given up. */
export class LeaderLease {
  private timer: NodeJS.Timeout | undefined;
  /** When this controller last renewed (monotonic): the start of its renew deadline. */
  private lastRenewed = 0;
  private held = false;
  private observation: Observation | undefined;
  private readonly renewDeadlineMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly api: KubernetesObjectApi,
    private readonly options: LeaseOptions,
    private readonly log: Logger,
  ) {
    this.renewDeadlineMs = options.renewDeadlineMs ?? Math.floor((options.leaseMs * 2) / 3);
    if (!(this.renewDeadlineMs < options.leaseMs))
      throw new Error(
        `the lease's renew deadline (${this.renewDeadlineMs} ms) must be shorter than its duration (${options.leaseMs} ms)`,
      );
    if (!(options.renewMs < this.renewDeadlineMs))
      throw new Error(
        `the lease's renew period (${options.renewMs} ms) must be shorter than its renew deadline (${this.renewDeadlineMs} ms)`,
      );
    this.requestTimeoutMs =
      options.requestTimeoutMs ?? Math.min(Math.max(options.renewMs, this.renewDeadlineMs / 2), this.renewDeadlineMs);
  }

  /** Whether this controller holds the lease now: it acts only while this is true. */
  get holding(): boolean {
    return this.held;
  }

  private read(): Promise<Lease | undefined> {
    return within(
      readObject<Lease>(this.api, 'coordination.k8s.io/v1', 'Lease', this.options.namespace, this.options.name),
      this.requestTimeoutMs,
      'reading the lease',
    );
  }

  /** One attempt to take or renew the lease; true when this controller holds it now. */
  private async tryTake(): Promise<boolean> {
    const started = monotonic();
    const current = await this.read();
    this.observation = observe(this.observation, current?.spec, monotonic());
    if (!mayTake(current?.spec, this.options.identity, this.observation, monotonic())) return false;
    const ours = current?.spec.holderIdentity === this.options.identity;
    const wall = Date.now();
    const spec = {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.options.leaseMs / 1000)),
      acquireTime: ours ? current!.spec.acquireTime : microTime(wall),
      renewTime: microTime(wall),
      leaseTransitions: (current?.spec.leaseTransitions ?? 0) + (ours || current === undefined ? 0 : 1),
    };
    const metadata = {
      name: this.options.name,
      namespace: this.options.namespace,
      ...(current ? { resourceVersion: current.metadata!.resourceVersion } : {}),
    };
    try {
      const write =
        current === undefined
          ? this.api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec } as Lease)
          : this.api.replace({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec } as Lease);
      await within(write, this.requestTimeoutMs, 'writing the lease');
    } catch (error) {
      if (statusOf(error) === 409) return false; // another candidate wrote first
      throw error;
    }
    // The renew counts from before it was read: the lease cannot have been renewed later than that.
    this.lastRenewed = started;
    this.observation = observe(this.observation, spec, monotonic());
    return true;
  }

  /** Wait until this controller holds the lease (`signal` gives up), then keep renewing; `onLost` when it no longer does. */
  async acquire(onLost: (why: string) => void, signal?: AbortSignal): Promise<void> {
    let waiting = false;
    for (;;) {
      if (signal?.aborted) throw new Error('gave up waiting for the controller lease');
      try {
        if (await this.tryTake()) break;
      } catch (error) {
        this.log.warn({ err: error }, 'kubernetes: the controller lease could not be read or written; trying again');
      }
      if (!waiting)
        this.log.info(
          { lease: this.options.name, identity: this.options.identity },
          'kubernetes: another controller holds the lease; waiting',
        );
      waiting = true;
      await new Promise((resolve) => setTimeout(resolve, this.options.renewMs));
    }
    this.held = true;
    this.log.info(
      { lease: this.options.name, identity: this.options.identity },
      'kubernetes: this controller holds the lease',
    );
    let renewing = false;
    let lastError = 'no renewal answered';
    // The next renew is due one period after the take began (not after it answered): a slow take must not push
    // the first renew past the deadline.
    let lastAttempt = this.lastRenewed;
    this.timer = setInterval(
      () => {
        if (!this.held) return;
        // Checked every tick, whatever call is in flight: past the renew deadline this controller stops acting.
        if (monotonic() - this.lastRenewed >= this.renewDeadlineMs) {
          this.lose(
            `could not renew the lease within its renew deadline of ${this.renewDeadlineMs} ms (${lastError})`,
            onLost,
          );
          return;
        }
        if (renewing || monotonic() - lastAttempt < this.options.renewMs) return;
        renewing = true;
        lastAttempt = monotonic();
        void this.tryTake()
          .then(
            (holds) => {
              if (!holds) this.lose('another controller holds the lease', onLost);
            },
            (error: Error) => {
              lastError = error.message;
            },
          )
          .finally(() => (renewing = false));
      },
      Math.min(this.options.renewMs, 250),
    );
    this.timer.unref();
  }

  private lose(why: string, onLost: (why: string) => void): void {
    if (!this.held) return;
    this.held = false;
    clearInterval(this.timer);
    this.log.error(
      { lease: this.options.name, identity: this.options.identity, why },
      'kubernetes: controller lease lost: this controller stops acting',
    );
    onLost(why);
  }

  /** Stop renewing, and free the lease so that another controller takes over at once. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    if (!this.held) return;
    this.held = false;
    try {
      const current = await this.read();
      if (current?.spec.holderIdentity === this.options.identity) {
        await within(
          this.api.replace({
            ...current,
            spec: { ...current.spec, holderIdentity: '', renewTime: undefined },
          } as Lease),
          this.requestTimeoutMs,
          'freeing the lease',
        );
      }
    } catch (error) {
      this.log.warn({ err: error }, 'kubernetes: could not free the controller lease; it expires on its own');
    }
  }
}
