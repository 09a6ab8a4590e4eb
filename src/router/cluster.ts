// The router as a cluster (`--workers N`, node:cluster): N worker processes serve the data path on one
// shared port (worker.ts); this primary owns the state and the admin API. A change is a new state with the
// next epoch, sent to every worker; it is reported done only when every worker has acknowledged that epoch
// (a worker that does not within the deadline is stopped and replaced with the current state, so no
// worker serves an old one). Answers carry their epoch (`x-guardgate-epoch`). Metrics are every worker's,
// aggregated; mirror pairs come from every worker.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { AuthConfig } from '../config/auth.js';
import { builtFile } from '../shared/built.js';
import type { FromWorker, ToWorker, WorkerMetrics } from './cluster-messages.js';
import {
  bucketsOf,
  initialState,
  mirrored,
  switched,
  trafficOf,
  weighted,
  withPool,
  type LatencyBuckets,
  type PoolStatus,
  type RouterControl,
  type RouterState,
  type RouterStatus,
  type SwitchResult,
  type TrafficCounts,
} from './control.js';
import type { MirrorListener, MirrorPair } from './mirror.js';
import { otherColor, type Color } from '../vocabulary/colors.js';
import type { RouterSettings } from './settings.js';

/** How the router runs as several workers. */
export interface ClusterOptions {
  workers: number;
  /** How long a worker may take to start, and to acknowledge a state. */
  deadlineMs: number;
  logLevel: string;
}

interface Member {
  worker: Worker;
  index: number;
  /** Sent when the worker says it has loaded. */
  init: ToWorker;
  /** The last epoch this worker acknowledged. */
  epoch: number;
  ready: boolean;
  /** Why it could not start. */
  failed?: string;
}

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Structured clone turns Buffers into Uint8Arrays: make a pair's bodies Buffers again. */
function revivePair(pair: MirrorPair): MirrorPair {
  return {
    ...pair,
    request: { ...pair.request, body: toBuffer(pair.request.body) },
    active: { ...pair.active, body: toBuffer(pair.active.body) },
    standby: { ...pair.standby, body: toBuffer(pair.standby.body) },
  };
}

/** Of two workers' views of one instance, the worse: unhealthy over unknown over healthy. Pure. */
const HEALTH_ORDER = ['unhealthy', 'unknown', 'healthy'];
const leastHealthy = (a: string, b: string): string => (HEALTH_ORDER.indexOf(a) <= HEALTH_ORDER.indexOf(b) ? a : b);

/** The router as node:cluster workers, driven by the primary through messages. */
export class ClusterRouter implements RouterControl {
  url = '';
  previewUrl: string | null = null;
  private state: RouterState;
  private readonly members = new Map<number, Member>();
  /** Conditions awaited on workers, checked at each message and exit. */
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<MirrorListener>();
  /** Answers awaited, by request id: from which worker, and what to do with the answer (undefined: none will come). */
  private readonly replies = new Map<number, { member: Member; answer: (message: FromWorker | undefined) => void }>();
  private nextId = 0;
  private switches = 0;
  private lastSwitchAt: Date | null = null;
  private closing = false;

  constructor(
    private readonly settings: RouterSettings,
    private readonly auth: AuthConfig,
    private readonly adminToken: string,
    private readonly log: Logger,
    private readonly options: ClusterOptions,
  ) {
    this.state = initialState(settings.active, settings.pools);
  }

  /** Start every worker and wait until each listens. */
  async start(): Promise<void> {
    cluster.setupPrimary({ exec: builtFile('router/worker.js'), serialization: 'advanced' });
    cluster.on('exit', this.onExit);
    await Promise.all(Array.from({ length: this.options.workers }, (_, index) => this.fork(index)));
    this.log.info(
      { url: this.url, workers: this.options.workers, active: this.state.active },
      'router cluster listening',
    );
  }

  private fork(index: number): Promise<void> {
    // Every worker, a replacement too, asks for the configured port (0 included): the primary keys the one
    // listening socket it shares by what was asked.
    const worker = cluster.fork();
    const init: ToWorker = {
      type: 'init',
      init: {
        index,
        settings: { ...this.settings, active: this.state.active, pools: this.state.pools },
        auth: this.auth,
        adminToken: this.adminToken,
        logLevel: this.options.logLevel,
        state: this.state,
        mirror: this.listeners.size > 0,
      },
    };
    const member: Member = { worker, index, init, epoch: 0, ready: false };
    this.members.set(worker.id, member);
    worker.on('message', (message: FromWorker) => this.onMessage(member, message));
    // A send to a worker that is going away fails; its exit is handled where it is noticed.
    worker.on('error', (error: Error) => this.log.warn({ worker: index, err: error }, 'router worker channel error'));

    return this.waitFor(
      `router worker ${index} to start`,
      () => member.ready || member.failed !== undefined || !this.members.has(worker.id),
    ).then(() => {
      if (!member.ready)
        throw new Error(`router worker ${index} failed to start${member.failed ? `: ${member.failed}` : ''}`);
    });
  }

  private readonly onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const member = this.members.get(worker.id);
    this.members.delete(worker.id);
    for (const check of [...this.waiters]) check(); // a wait on this worker learns it is gone
    for (const reply of [...this.replies.values()]) if (reply.member === member) reply.answer(undefined);
    if (member === undefined || this.closing) return;
    this.log.error(
      { worker: member.index, code, signal },
      'router worker exited; starting another with the current state',
    );
    if (!member.ready) return; // one that never started is not restarted in a loop
    this.fork(member.index).catch((error: Error) =>
      this.log.error({ err: error, worker: member.index }, 'router worker restart failed'),
    );
  };

  private onMessage(member: Member, message: FromWorker): void {
    switch (message.type) {
      case 'loaded':
        this.send(member, member.init);
        break;
      case 'ready':
        member.ready = true;
        member.epoch = message.epoch;
        if (this.url === '') [this.url, this.previewUrl] = [message.url, message.previewUrl];
        break;
      case 'applied':
        member.epoch = Math.max(member.epoch, message.epoch);
        break;
      case 'apply-failed':
        this.log.error(
          { worker: member.index, epoch: message.epoch, error: message.message },
          'router worker could not apply a state',
        );
        break;
      case 'status':
      case 'metrics':
        this.replies.get(message.id)?.answer(message);
        break;
      case 'pair': {
        const pair = revivePair(message.pair);
        for (const listener of this.listeners) listener(pair);
        break;
      }
      case 'failed':
        member.failed = message.message;
        this.log.error({ worker: member.index, error: message.message }, 'router worker failed to start');
        break;
    }
    for (const check of [...this.waiters]) check();
  }

  /** Wait until `condition` holds (checked at each worker message and exit); fail at the deadline, naming what was awaited. */
  private waitFor(what: string, condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${this.options.deadlineMs} ms waiting for ${what}`));
      }, this.options.deadlineMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Workers that serve: started, and still connected. */
  private live(): Member[] {
    return [...this.members.values()].filter((m) => m.ready && m.worker.isConnected());
  }

  /** Send, ignoring a channel that has just closed (the worker's exit follows). */
  private send(member: Member, message: ToWorker, onFailure?: () => void): void {
    if (!member.worker.isConnected()) return void onFailure?.();
    member.worker.send(message, (error: Error | null) => {
      if (error !== null) onFailure?.();
    });
  }

  /**
   * Make `next` the state and wait until every serving worker has acknowledged it. A worker that has not
   * within the deadline is stopped (and replaced, with this state): none keeps serving an older one.
   */
  private async publish(next: RouterState): Promise<void> {
    this.state = next;
    const members = this.live();
    const message: ToWorker = { type: 'state', state: next };
    for (const member of members) this.send(member, message);
    const acknowledged = (member: Member) => member.epoch >= next.epoch || !member.worker.isConnected();
    await Promise.all(
      members.map((member) =>
        acknowledged(member)
          ? undefined
          : this.waitFor(`router worker ${member.index} to apply epoch ${next.epoch}`, () =>
              acknowledged(member),
            ).catch((error: Error) => {
              this.log.error(
                { worker: member.index, err: error },
                'router worker did not acknowledge a state in time; stopping it',
              );
              member.worker.process.kill('SIGKILL');
            }),
      ),
    );
  }

  get active(): Color {
    return this.state.active;
  }

  async healthyCount(color: Color): Promise<number> {
    return (await this.status()).pools[color].healthy;
  }

  async switchTo(to: Color, options: { force?: boolean } = {}): Promise<SwitchResult> {
    const previous = this.state.active;
    const next = switched(this.state, to, await this.healthyCount(to), options.force === true);
    await this.publish(next);
    const at = new Date();
    if (previous !== to) {
      this.switches++;
      this.lastSwitchAt = at;
    }
    // Said when it changes something; a start that restores the same color is no switch.
    if (previous === to) this.log.debug({ active: to, epoch: next.epoch }, 'active color confirmed by every worker');
    else
      this.log.info(
        { from: previous, to, forced: options.force === true, epoch: next.epoch, workers: this.live().length },
        'switched active color; every worker acknowledged',
      );
    return { previous, active: to, at: at.toISOString(), epoch: next.epoch };
  }

  async setWeights(standbyWeight: number, stickyHeader: string | null = null): Promise<void> {
    await this.publish(weighted(this.state, standbyWeight, stickyHeader));
  }

  async setMirror(fraction: number): Promise<void> {
    await this.publish(mirrored(this.state, fraction, this.settings.routerSecret !== null));
  }

  async setPool(color: Color, instances: readonly string[], version: string | null): Promise<void> {
    await this.publish(withPool(this.state, color, instances, version));
  }

  onMirrorPair(listener: MirrorListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.broadcast({ type: 'mirror', on: true });
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.broadcast({ type: 'mirror', on: false });
    };
  }

  private broadcast(message: ToWorker): void {
    for (const member of this.live()) this.send(member, message);
  }

  /** Ask every serving worker; the answers that came within the deadline. */
  private async ask<T extends FromWorker>(type: 'status' | 'metrics'): Promise<T[]> {
    const members = this.live();
    const answers = await Promise.all(
      members.map(
        (member) =>
          new Promise<T | undefined>((resolve) => {
            const id = this.nextId++;
            const timer = setTimeout(() => finish(undefined), this.options.deadlineMs);
            const finish = (message: T | undefined) => {
              clearTimeout(timer);
              this.replies.delete(id);
              resolve(message);
            };
            this.replies.set(id, { member, answer: (message) => finish(message as T | undefined) });
            this.send(member, { type, id }, () => finish(undefined));
          }),
      ),
    );
    return answers.filter((a) => a !== undefined) as T[];
  }

  /**
   * The workers' views merged: requests in flight add up, and an instance is as healthy as the worst view of it
   * (a worker that does not see it healthy sends it none of the requests it gets: a color none of whose instances
   * every worker can use cannot take all the traffic, and a switch to it is refused).
   */
  async status(): Promise<RouterStatus> {
    const views = (await this.ask<Extract<FromWorker, { type: 'status' }>>('status')).map((m) => m.status);
    const pool = (color: Color): PoolStatus => {
      const byUrl = new Map<string, PoolStatus['instances'][number]>();
      for (const view of views) {
        for (const instance of view.pools[color].instances) {
          const seen = byUrl.get(instance.url);
          if (seen === undefined) byUrl.set(instance.url, { ...instance });
          else {
            seen.inFlight += instance.inFlight;
            seen.ejections += instance.ejections;
            // The latest ejection any worker saw (ISO times compare as strings).
            if ((instance.lastEjection?.at ?? '') > (seen.lastEjection?.at ?? ''))
              seen.lastEjection = instance.lastEjection;
            seen.health = leastHealthy(seen.health, instance.health);
          }
        }
      }
      const instances = [...byUrl.values()];
      return {
        version: this.state.pools[color].version,
        healthy: instances.filter((i) => i.health === 'healthy').length,
        instances,
      };
    };
    return {
      active: this.state.active,
      standby: otherColor(this.state.active),
      standbyWeight: this.state.standbyWeight,
      stickyHeader: this.state.stickyHeader,
      mirrorFraction: this.state.mirrorFraction,
      switches: this.switches,
      lastSwitchAt: this.lastSwitchAt?.toISOString() ?? null,
      epoch: Math.min(this.state.epoch, ...this.live().map((m) => m.epoch)),
      workers: this.live().length,
      pools: { blue: pool('blue'), green: pool('green') },
    };
  }

  /** Every worker's metrics, aggregated as prom-client aggregates a cluster's (sums, unless a metric says otherwise). */
  private async aggregated(): Promise<Registry> {
    const answers = await this.ask<Extract<FromWorker, { type: 'metrics' }>>('metrics');
    return AggregatorRegistry.aggregate(answers.map((a) => a.metrics as WorkerMetrics));
  }

  async traffic(reason?: 'active' | 'preview' | 'canary'): Promise<TrafficCounts> {
    const metric = (await this.aggregated()).getSingleMetric('guardgate_router_requests_total');
    return trafficOf(metric === undefined ? [] : (await metric.get()).values, reason);
  }

  async latencyBuckets(color: Color): Promise<LatencyBuckets> {
    const metric = (await this.aggregated()).getSingleMetric('guardgate_router_upstream_duration_seconds');
    return metric === undefined ? [] : bucketsOf((await metric.get()).values, color);
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    const registry = await this.aggregated();
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** Ask every worker to finish what it serves and stop; stop those that have not within the deadline. */
  async close(): Promise<void> {
    this.closing = true;
    cluster.off('exit', this.onExit);
    const members = [...this.members.values()];
    await Promise.all(
      members.map(
        (member) =>
          new Promise<void>((resolve) => {
            if (member.worker.isDead()) return resolve();
            const timer = setTimeout(() => member.worker.process.kill('SIGKILL'), this.options.deadlineMs);
            member.worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            this.send(member, { type: 'close' }, () => member.worker.process.kill('SIGKILL'));
          }),
      ),
    );
    this.members.clear();
  }
}
