// One controller acts at a time: a coordination.k8s.io Lease `<app>-controller`. A controller takes it when
// it is free or its holder stopped renewing (past leaseDurationSeconds), renews it every `renewMs`, and says
// it lost it when another holds it or it could not renew before it would expire: then it must stop acting.
// Writes name the version they read, so two candidates never both win.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { readObject, statusOf } from './kubernetes-objects.js';

type Lease = KubernetesObject & { spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number } };

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** Who this controller is (its pod name in a cluster). */
  identity: string;
  leaseMs: number;
  renewMs: number;
}

/** Whether a lease may be taken by `identity` at `now`: free, expired, or already ours. Pure. */
export function mayTake(lease: Lease['spec'] | undefined, identity: string, now: number): boolean {
  if (lease?.holderIdentity === undefined || lease.holderIdentity === '' || lease.holderIdentity === identity) return true;
  const renewed = Date.parse(lease.renewTime ?? lease.acquireTime ?? '');
  return !Number.isFinite(renewed) || now > renewed + (lease.leaseDurationSeconds ?? 15) * 1000;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderLease {
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = 0;
  private held = false;

  constructor(
    private readonly api: KubernetesObjectApi,
    private readonly options: LeaseOptions,
    private readonly log: Logger,
  ) {}

  private read(): Promise<Lease | undefined> {
    return readObject<Lease>(this.api, 'coordination.k8s.io/v1', 'Lease', this.options.namespace, this.options.name);
  }

  /** One attempt to take or renew the lease; true when this controller holds it now. */
  private async tryTake(): Promise<boolean> {
    const now = Date.now();
    const current = await this.read();
    if (!mayTake(current?.spec, this.options.identity, now)) return false;
    const ours = current?.spec.holderIdentity === this.options.identity;
    const spec = {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.options.leaseMs / 1000)),
      acquireTime: ours ? current!.spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (current?.spec.leaseTransitions ?? 0) + (ours || current === undefined ? 0 : 1),
    };
    const metadata = { name: this.options.name, namespace: this.options.namespace, ...(current ? { resourceVersion: current.metadata!.resourceVersion } : {}) };
    try {
      if (current === undefined) await this.api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec } as Lease);
      else await this.api.replace({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec } as Lease);
    } catch (error) {
      if (statusOf(error) === 409) return false; // another candidate wrote first
      throw error;
    }
    this.lastRenewed = now;
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
      if (!waiting) this.log.info({ lease: this.options.name, identity: this.options.identity }, 'kubernetes: another controller holds the lease; waiting');
      waiting = true;
      await new Promise((resolve) => setTimeout(resolve, this.options.renewMs));
    }
    this.held = true;
    this.log.info({ lease: this.options.name, identity: this.options.identity }, 'kubernetes: this controller holds the lease');
    let renewing = false;
    this.timer = setInterval(() => {
      if (renewing || !this.held) return;
      renewing = true;
      void this.tryTake()
        .then(
          (holds) => {
            if (!holds) this.lose('another controller holds the lease', onLost);
          },
          (error: Error) => {
            // Not renewed: still ours until it would expire; past that, another may have taken it.
            if (Date.now() - this.lastRenewed >= this.options.leaseMs) this.lose(`could not renew the lease for ${this.options.leaseMs} ms: ${error.message}`, onLost);
          },
        )
        .finally(() => (renewing = false));
    }, this.options.renewMs);
    this.timer.unref();
  }

  private lose(why: string, onLost: (why: string) => void): void {
    if (!this.held) return;
    this.held = false;
    clearInterval(this.timer);
    this.log.error({ lease: this.options.name, identity: this.options.identity, why }, 'kubernetes: controller lease lost: this controller stops acting');
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
        await this.api.replace({ ...current, spec: { ...current.spec, holderIdentity: '', renewTime: undefined } } as Lease);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'kubernetes: could not free the controller lease; it expires on its own');
    }
  }
}
