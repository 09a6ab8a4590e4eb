// The stable front door: the public listener (and an optional preview listener), both colors' pools,
// health checks, the traffic policy, and the operations the admin API and the controller call.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { answerClientError } from '../shared/client-error.js';
import { WatchedKeyPair } from '../shared/tls-files.js';
import { openTracing, type Tracing } from '../shared/tracing.js';
import { BUILD } from '../shared/build.js';
import { HealthChecker } from './health.js';
import { RouterMetrics } from './metrics.js';
import { Mirror, type MirrorListener } from './mirror.js';
import { ColorPool } from './pool.js';
import { clientAddress } from '../shared/net.js';
import { DataPath, writeError } from './proxy.js';
import { RetryBudget } from './retry-budget.js';
import { type TrafficPolicy } from './routing.js';
import { COLORS, otherColor, type Color } from '../vocabulary/colors.js';
import type { PoolSettings, RouterSettings } from './settings.js';
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

export type { PoolStatus, RouterStatus, SwitchResult } from './control.js';

const listen = (server: Server, host: string, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });

const urlOf = (scheme: string, host: string, port: number): string =>
  `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;

const samePool = (a: PoolSettings, b: PoolSettings): boolean =>
  a.version === b.version &&
  a.instances.length === b.instances.length &&
  a.instances.every((url, i) => url === b.instances[i]);

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One router process: the data path, its listeners and health checks, and the state it applies. */
export class Router implements RouterControl {
  readonly metrics = new RouterMetrics();
  readonly pools: Record<Color, ColorPool>;
  /** What the data path reads per request: `state` as it applies, plus failover; rewritten whole by `apply`. */
  private readonly policy: TrafficPolicy;
  private readonly mirror: Mirror;
  private readonly health: HealthChecker;
  private readonly publicServer: Server;
  private readonly previewServer: Server | undefined;
  private readonly keyPair: WatchedKeyPair | undefined;
  private state: RouterState;
  private switches = 0;
  private lastFailoverLog = 0;
  private lastSwitchAt: Date | null = null;
  /** Serialises state changes: each applies whole, in epoch order. */
  private applying: Promise<unknown> = Promise.resolve();
  url = '';
  previewUrl: string | null = null;

  /** A router with the tracing its settings name (the SDK loaded only when they name one). */
  static async open(settings: RouterSettings, log: Logger, authenticator: Authenticator): Promise<Router> {
    return new Router(settings, log, authenticator, await openTracing(settings.tracing, BUILD.version));
  }

  private constructor(
    private readonly settings: RouterSettings,
    private readonly log: Logger,
    authenticator: Authenticator,
    /** The router's spans: it shuts them down when it closes. */
    private readonly tracing: Tracing | undefined,
  ) {
    const upstreamOptions = { connections: settings.upstream.connections, ...settings.health };
    this.pools = { blue: new ColorPool('blue', upstreamOptions), green: new ColorPool('green', upstreamOptions) };
    this.state = initialState(settings.active, settings.pools);
    this.policy = {
      active: settings.active,
      standbyWeight: 0,
      stickyHeader: null,
      mirrorFraction: 0,
      failover: settings.failover === 'standby',
      epoch: '1',
    };
    this.mirror = new Mirror(
      settings.mirror.maxInFlight,
      settings.upstream.timeoutMs,
      this.metrics,
      settings.routerSecret,
    );
    this.health = new HealthChecker(
      COLORS.map((c) => this.pools[c]),
      settings.health,
      (upstream, pool, healthy) => {
        this.log.info(
          {
            color: pool.color,
            instance: upstream.url,
            healthy,
            ...(healthy ? {} : { reason: upstream.lastEjection?.reason }),
          },
          healthy ? 'instance in rotation' : 'instance ejected: health check failed',
        );
        if (!healthy) this.metrics.ejections.inc({ color: pool.color, cause: 'check' });
        this.updateHealthGauge();
      },
    );
    const dataPath = new DataPath(
      {
        tracing: this.tracing,
        pools: this.pools,
        policy: this.policy,
        metrics: this.metrics,
        budget: new RetryBudget(settings.retry),
        mirror: this.mirror,
        onEject: (upstream, pool) => {
          this.log.warn(
            { color: pool.color, instance: upstream.url, reason: upstream.lastEjection?.reason },
            'instance ejected: connection failed',
          );
          this.metrics.ejections.inc({ color: pool.color, cause: 'connection' });
          this.updateHealthGauge();
        },
        authenticator,
        onFailover: () => {
          this.metrics.failovers.inc();
          // Loud, but once a second at most: this is an incident, not a request log.
          const now = Date.now();
          if (now - this.lastFailoverLog < 1_000) return;
          this.lastFailoverLog = now;
          this.log.error(
            { active: this.policy.active, servedBy: otherColor(this.policy.active) },
            'FAILOVER: the active color has no healthy instance; live traffic is served by the standby',
          );
        },
      },
      {
        bodyLimitBytes: settings.bodyLimitBytes,
        trustedProxies: new Set(settings.trustProxy ?? []),
        upstreamTimeoutMs: settings.upstream.timeoutMs,
        attemptTimeoutMs: Math.min(settings.upstream.attemptTimeoutMs, settings.upstream.timeoutMs),
        maxInFlightPerInstance: settings.upstream.maxInFlight,
      },
    );
    if (settings.tls !== null) {
      this.keyPair = new WatchedKeyPair(
        settings.tls,
        (pair) => {
          for (const server of this.listeners()) (server as HttpsServer).setSecureContext(pair);
          this.log.info({ certFile: settings.tls!.certFile }, 'TLS certificate reloaded');
        },
        (error) =>
          this.log.error(
            { err: error },
            'TLS certificate or key unreadable or mismatched; the previous pair stays in use',
          ),
      );
    }
    this.publicServer = this.createListener((req, res) => void dataPath.handle(req, res, false));
    this.previewServer =
      settings.previewPort === null
        ? undefined
        : this.createListener((req, res) => void dataPath.handle(req, res, true));
    for (const color of COLORS)
      this.pools[color].setMembers(settings.pools[color].instances, settings.pools[color].version);
    this.updateActiveGauge();
  }

  private listeners(): Server[] {
    return this.previewServer === undefined ? [this.publicServer] : [this.publicServer, this.previewServer];
  }

  /** A public or preview listener: HTTP or HTTPS, bounded against slow clients, every refusal in JSON. */
  private createListener(handle: Handler): Server {
    const { timeouts, bodyLimitBytes } = this.settings;
    const options: ServerOptions = {
      keepAliveTimeout: timeouts.keepAliveMs,
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // Node checks those deadlines on this interval (30 s by default): slow clients would outlive them.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, timeouts.headersMs / 2)),
    };
    const server =
      this.keyPair === undefined
        ? createServer(options, handle)
        : (createHttpsServer({ ...options, ...this.keyPair.current }, handle) as unknown as Server);
    server.maxConnections = this.settings.maxConnections;
    // One address holds at most its share of the slots (a proxy in front of the router is many clients: exempt).
    const perClient = new Map<string, number>();
    const share = this.settings.maxConnectionsPerClient ?? this.settings.maxConnections;
    const trusted = new Set(this.settings.trustProxy ?? []);
    server.on('connection', (socket) => {
      const address = clientAddress(socket);
      if (!trusted.has(address)) {
        const held = (perClient.get(address) ?? 0) + 1;
        if (held > share) {
          this.metrics.droppedConnections.inc();
          socket.destroy();
          return;
        }
        perClient.set(address, held);
        socket.once('close', () => {
          const left = perClient.get(address)! - 1;
          if (left === 0) perClient.delete(address);
          else perClient.set(address, left);
        });
      }
      this.metrics.connections.inc();
      socket.once('close', () => this.metrics.connections.dec());
    });
    server.on('drop', () => this.metrics.droppedConnections.inc());
    server.on('clientError', answerClientError);
    // `Expect: 100-continue`: refuse a body that is too large before it is sent, else invite it.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (Number(req.headers['content-length']) > bodyLimitBytes) {
        writeError(
          res.setHeader('connection', 'close') as ServerResponse,
          new GuardgateError('body_too_large', `the body is over ${bodyLimitBytes} bytes`),
        );
        return;
      }
      res.writeContinue();
      handle(req, res);
    });
    server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) =>
      writeError(res, new GuardgateError('expectation_failed', 'only Expect: 100-continue is supported')),
    );
    return server;
  }

  /** Listen, and check every instance once before answering, so that healthy instances are in rotation. */
  async start(): Promise<void> {
    await this.health.checkAll();
    this.updateHealthGauge();
    this.health.start();
    const scheme = this.keyPair === undefined ? 'http' : 'https';
    this.url = urlOf(
      scheme,
      this.settings.host,
      await listen(this.publicServer, this.settings.host, this.settings.port),
    );
    if (this.previewServer !== undefined) {
      this.previewUrl = urlOf(
        scheme,
        this.settings.previewHost,
        await listen(this.previewServer, this.settings.previewHost, this.settings.previewPort!),
      );
    }
    this.log.info({ url: this.url, previewUrl: this.previewUrl, active: this.policy.active }, 'router listening');
  }

  get active(): Color {
    return this.policy.active;
  }

  /**
   * Make `to` the active color. Atomic: once this returns, every new request goes to `to`; requests in
   * flight finish where they are; the old color's connections close as they go idle.
   * Refuses a color with no healthy instance unless forced.
   */
  async switchTo(to: Color, options: { force?: boolean } = {}): Promise<SwitchResult> {
    const previous = this.policy.active;
    const next = switched(this.state, to, this.pools[to].healthyCount, options.force === true);
    await this.apply(next);
    // Said when it changes something; a start that restores the same color is no switch.
    if (previous === to) this.log.debug({ active: to, epoch: next.epoch }, 'active color confirmed');
    else
      this.log.info({ from: previous, to, forced: options.force === true, epoch: next.epoch }, 'switched active color');
    return {
      previous,
      active: to,
      at: (previous === to ? new Date() : this.lastSwitchAt!).toISOString(),
      epoch: next.epoch,
    };
  }

  /** Send a percentage of live traffic to the standby (a canary), optionally sticky by a request header. */
  async setWeights(standbyWeight: number, stickyHeader: string | null = null): Promise<void> {
    await this.apply(weighted(this.state, standbyWeight, stickyHeader));
    this.log.info({ standbyWeight, stickyHeader }, 'traffic weights set');
  }

  /** Mirror a fraction (0 to 1) of live requests to the standby. */
  async setMirror(fraction: number): Promise<void> {
    const before = this.policy.mirrorFraction;
    await this.apply(mirrored(this.state, fraction, this.mirror.possible));
    if (this.policy.mirrorFraction !== before) this.log.info({ fraction }, 'mirroring set');
  }

  /** Replace one color's instances and version label; new instances are checked before they take traffic. */
  async setPool(color: Color, instances: readonly string[], version: string | null): Promise<void> {
    await this.apply(withPool(this.state, color, instances, version));
    this.log.info({ color, version, instances }, 'pool membership set');
  }

  get epoch(): number {
    return this.state.epoch;
  }

  /**
   * Apply a state, whole: membership first (new instances checked before they can take traffic), then the
   * policy in one synchronous step, so that no request sees half of it. A cluster worker applies the
   * primary's states here.
   */
  apply(next: RouterState): Promise<void> {
    const run = this.applying.then(async () => {
      if (next.epoch <= this.state.epoch) return;
      const previous = this.state;
      for (const color of COLORS) {
        const { instances, version } = next.pools[color];
        if (samePool(next.pools[color], previous.pools[color])) continue;
        const pool = this.pools[color];
        const { added, removed } = pool.setMembers(instances, version);
        await Promise.all(added.map((upstream) => this.health.check(upstream, pool)));
        await Promise.all(removed.map((upstream) => upstream.drainConnections().then(() => upstream.close())));
      }
      this.state = next;
      Object.assign(this.policy, {
        active: next.active,
        standbyWeight: next.standbyWeight,
        stickyHeader: next.stickyHeader,
        mirrorFraction: next.mirrorFraction,
        epoch: String(next.epoch),
      });
      if (previous.active !== next.active) {
        this.switches++;
        this.lastSwitchAt = new Date();
        for (const upstream of this.pools[previous.active].upstreams) void upstream.drainConnections();
        this.metrics.switches.inc({ to: next.active });
        this.updateActiveGauge();
      }
      this.updateHealthGauge();
    });
    this.applying = run.catch(() => undefined);
    return run;
  }

  async healthyCount(color: Color): Promise<number> {
    return this.pools[color].healthyCount;
  }

  async traffic(reason?: 'active' | 'preview' | 'canary'): Promise<TrafficCounts> {
    return trafficOf((await this.metrics.requests.get()).values, reason);
  }

  async latencyBuckets(color: Color): Promise<LatencyBuckets> {
    return bucketsOf((await this.metrics.upstreamDuration.get()).values, color);
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
  }

  onMirrorPair(listener: MirrorListener): () => void {
    return this.mirror.subscribe(listener);
  }

  async status(): Promise<RouterStatus> {
    return this.localStatus();
  }

  /** This process's view: its pools' health and requests in flight. */
  localStatus(): RouterStatus {
    const poolStatus = (pool: ColorPool): PoolStatus => ({
      version: pool.version,
      healthy: pool.healthyCount,
      instances: pool.upstreams.map((u) => ({
        url: u.url,
        health: u.health,
        inFlight: u.inFlight,
        ejections: u.ejections,
        lastEjection: u.lastEjection,
      })),
    });
    return {
      active: this.policy.active,
      standby: otherColor(this.policy.active),
      standbyWeight: this.policy.standbyWeight,
      stickyHeader: this.policy.stickyHeader,
      mirrorFraction: this.policy.mirrorFraction,
      switches: this.switches,
      lastSwitchAt: this.lastSwitchAt?.toISOString() ?? null,
      epoch: this.state.epoch,
      workers: 1,
      pools: { blue: poolStatus(this.pools.blue), green: poolStatus(this.pools.green) },
    };
  }

  private updateHealthGauge(): void {
    for (const color of COLORS) this.metrics.healthy.set({ color }, this.pools[color].healthyCount);
  }

  private updateActiveGauge(): void {
    for (const color of COLORS) this.metrics.active.set({ color }, color === this.policy.active ? 1 : 0);
  }

  async close(): Promise<void> {
    await this.health.stop();
    this.keyPair?.close();
    await Promise.all(this.listeners().map(close));
    await Promise.all(COLORS.flatMap((color) => this.pools[color].upstreams.map((u) => u.close())));
    await this.tracing?.shutdown();
  }
}
