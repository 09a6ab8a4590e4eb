// The stable front door: the public listener (and an optional preview listener), both colors' pools,
// health checks, the traffic policy, and the operations the admin API and the controller call.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import { GuardgateError } from '../moderation/errors.js';
import { answerClientError } from '../shared/client-error.js';
import { WatchedKeyPair } from '../shared/tls-files.js';
import { HealthChecker } from './health.js';
import { RouterMetrics } from './metrics.js';
import { Mirror, type MirrorListener } from './mirror.js';
import { ColorPool } from './pool.js';
import { DataPath, sendError } from './proxy.js';
import { RetryBudget } from './retry-budget.js';
import { COLORS, otherColor, type Color, type TrafficPolicy } from './routing.js';
import type { RouterSettings } from './settings.js';

export interface InstanceStatus {
  url: string;
  health: string;
  inFlight: number;
  ejections: number;
}

export interface PoolStatus {
  version: string | null;
  healthy: number;
  instances: InstanceStatus[];
}

export interface RouterStatus {
  active: Color;
  standby: Color;
  standbyWeight: number;
  stickyHeader: string | null;
  mirrorFraction: number;
  switches: number;
  lastSwitchAt: string | null;
  pools: Record<Color, PoolStatus>;
}

export interface SwitchResult {
  previous: Color;
  active: Color;
  at: string;
}

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

const urlOf = (scheme: string, host: string, port: number): string => `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export class Router {
  readonly metrics = new RouterMetrics();
  readonly pools: Record<Color, ColorPool>;
  private readonly policy: TrafficPolicy;
  private readonly mirror: Mirror;
  private readonly health: HealthChecker;
  private readonly publicServer: Server;
  private readonly previewServer: Server | undefined;
  private readonly keyPair: WatchedKeyPair | undefined;
  private switches = 0;
  private lastFailoverLog = 0;
  private lastSwitchAt: Date | null = null;
  url = '';
  previewUrl: string | null = null;

  constructor(
    private readonly settings: RouterSettings,
    private readonly log: Logger,
    authenticator: Authenticator,
  ) {
    const upstreamOptions = { connections: settings.upstream.connections, ...settings.health };
    this.pools = { blue: new ColorPool('blue', upstreamOptions), green: new ColorPool('green', upstreamOptions) };
    this.policy = { active: settings.active, standbyWeight: 0, stickyHeader: null, mirrorFraction: 0, failover: settings.failover === 'standby' };
    this.mirror = new Mirror(settings.mirror.maxInFlight, settings.upstream.timeoutMs, this.metrics, settings.routerSecret);
    this.health = new HealthChecker(COLORS.map((c) => this.pools[c]), settings.health, (upstream, pool, healthy) => {
      this.log.info({ color: pool.color, instance: upstream.url, healthy }, healthy ? 'instance in rotation' : 'instance ejected: health check failed');
      if (!healthy) this.metrics.ejections.inc({ color: pool.color, cause: 'check' });
      this.updateHealthGauge();
    });
    const dataPath = new DataPath(
      {
        pools: this.pools,
        policy: this.policy,
        metrics: this.metrics,
        budget: new RetryBudget(settings.retry),
        mirror: this.mirror,
        onEject: (upstream, pool) => {
          this.log.warn({ color: pool.color, instance: upstream.url }, 'instance ejected: connection failed');
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
          this.log.error({ active: this.policy.active, servedBy: otherColor(this.policy.active) }, 'FAILOVER: the active color has no healthy instance; live traffic is served by the standby');
        },
      },
      {
        bodyLimitBytes: settings.bodyLimitBytes,
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
        (error) => this.log.error({ err: error }, 'TLS certificate or key unreadable or mismatched; the previous pair stays in use'),
      );
    }
    this.publicServer = this.createListener((req, res) => void dataPath.handle(req, res, false));
    this.previewServer = settings.previewPort === null ? undefined : this.createListener((req, res) => void dataPath.handle(req, res, true));
    for (const color of COLORS) this.pools[color].setMembers(settings.pools[color].instances, settings.pools[color].version);
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
    const server = this.keyPair === undefined ? createServer(options, handle) : (createHttpsServer({ ...options, ...this.keyPair.current }, handle) as unknown as Server);
    server.maxConnections = this.settings.maxConnections;
    server.on('connection', (socket) => {
      this.metrics.connections.inc();
      socket.once('close', () => this.metrics.connections.dec());
    });
    server.on('drop', () => this.metrics.droppedConnections.inc());
    server.on('clientError', answerClientError);
    // `Expect: 100-continue`: refuse a body that is too large before it is sent, else invite it.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (Number(req.headers['content-length']) > bodyLimitBytes) {
        sendError(res.setHeader('connection', 'close') as ServerResponse, new GuardgateError('body_too_large', `the body is over ${bodyLimitBytes} bytes`));
        return;
      }
      res.writeContinue();
      handle(req, res);
    });
    server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) =>
      sendError(res, new GuardgateError('expectation_failed', 'only Expect: 100-continue is supported')),
    );
    return server;
  }

  /** Listen, and check every instance once before answering, so that healthy instances are in rotation. */
  async start(): Promise<void> {
    await this.health.checkAll();
    this.updateHealthGauge();
    this.health.start();
    const scheme = this.keyPair === undefined ? 'http' : 'https';
    this.url = urlOf(scheme, this.settings.host, await listen(this.publicServer, this.settings.host, this.settings.port));
    if (this.previewServer !== undefined) {
      this.previewUrl = urlOf(scheme, this.settings.previewHost, await listen(this.previewServer, this.settings.previewHost, this.settings.previewPort!));
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
  switchTo(to: Color, options: { force?: boolean } = {}): SwitchResult {
    const previous = this.policy.active;
    if (this.pools[to].healthyCount === 0 && !options.force) {
      throw new GuardgateError('switch_refused', `the ${to} environment has no healthy instance; not switching (force to override)`);
    }
    this.policy.active = to;
    this.policy.standbyWeight = 0;
    this.switches++;
    this.lastSwitchAt = new Date();
    if (previous !== to) for (const upstream of this.pools[previous].upstreams) void upstream.drainConnections();
    this.metrics.switches.inc({ to });
    this.updateActiveGauge();
    this.log.info({ from: previous, to, forced: options.force === true }, 'switched active color');
    return { previous, active: to, at: this.lastSwitchAt.toISOString() };
  }

  /** Send a percentage of live traffic to the standby (a canary), optionally sticky by a request header. */
  setWeights(standbyWeight: number, stickyHeader: string | null = null): void {
    if (!(standbyWeight >= 0 && standbyWeight <= 100)) throw new GuardgateError('invalid_request', 'standby weight must be between 0 and 100');
    this.policy.standbyWeight = standbyWeight;
    this.policy.stickyHeader = stickyHeader === null ? null : stickyHeader.toLowerCase();
    this.log.info({ standbyWeight, stickyHeader }, 'traffic weights set');
  }

  /** Mirror a fraction (0 to 1) of live requests to the standby. */
  setMirror(fraction: number): void {
    if (!(fraction >= 0 && fraction <= 1)) throw new GuardgateError('invalid_request', 'mirror fraction must be between 0 and 1');
    if (fraction > 0 && !this.mirror.possible) {
      throw new GuardgateError('invalid_state', 'mirroring needs a router secret shared with the instances (routerSecret, GUARDGATE_ROUTER_SECRET)');
    }
    this.policy.mirrorFraction = fraction;
    this.log.info({ fraction }, 'mirroring set');
  }

  /** Replace one color's instances and version label; new instances are checked before they take traffic. */
  async setPool(color: Color, instances: readonly string[], version: string | null): Promise<void> {
    const pool = this.pools[color];
    const { added, removed } = pool.setMembers(instances, version);
    await Promise.all(added.map((upstream) => this.health.check(upstream, pool)));
    await Promise.all(removed.map((upstream) => upstream.drainConnections().then(() => upstream.close())));
    this.updateHealthGauge();
    this.log.info({ color, version, instances }, 'pool membership set');
  }

  onMirrorPair(listener: MirrorListener): () => void {
    return this.mirror.subscribe(listener);
  }

  status(): RouterStatus {
    const poolStatus = (pool: ColorPool): PoolStatus => ({
      version: pool.version,
      healthy: pool.healthyCount,
      instances: pool.upstreams.map((u) => ({ url: u.url, health: u.health, inFlight: u.inFlight, ejections: u.ejections })),
    });
    return {
      active: this.policy.active,
      standby: otherColor(this.policy.active),
      standbyWeight: this.policy.standbyWeight,
      stickyHeader: this.policy.stickyHeader,
      mirrorFraction: this.policy.mirrorFraction,
      switches: this.switches,
      lastSwitchAt: this.lastSwitchAt?.toISOString() ?? null,
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
  }
}
