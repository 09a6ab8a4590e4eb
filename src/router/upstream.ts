// One instance behind the router: its keep-alive connections and its health.
import { Pool } from 'undici';
import type { Ejection } from './control.js';

/** How connections to one instance are made. */
export interface UpstreamOptions {
  /** Keep-alive connections to this instance at most. */
  connections: number;
  /** Consecutive failed checks that eject a healthy instance. */
  unhealthyThreshold: number;
  /** Consecutive passed checks that bring an ejected instance back. */
  healthyThreshold: number;
}

/** What the health checks last said of an instance. */
export type UpstreamHealth = 'unknown' | 'healthy' | 'unhealthy';

/** One instance: its connection pool, health and requests in flight. */
export class Upstream {
  readonly origin: string;
  private pool: Pool;
  health: UpstreamHealth = 'unknown';
  inFlight = 0;
  ejections = 0;
  lastEjection: Ejection | null = null;
  /** When (performance.now()) it last answered a live request without a server error. */
  lastAnsweredAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private successes = 0;

  constructor(
    readonly url: string,
    private readonly options: UpstreamOptions,
  ) {
    this.origin = new URL(url).origin;
    this.pool = this.newPool();
  }

  private newPool(): Pool {
    return new Pool(this.origin, { connections: this.options.connections, keepAliveTimeout: 10_000, pipelining: 1 });
  }

  get client(): Pool {
    return this.pool;
  }

  get healthy(): boolean {
    return this.health === 'healthy';
  }

  /** An active check passed. Returns true when this brought the instance (back) into rotation. */
  checkPassed(): boolean {
    this.failures = 0;
    if (this.health === 'healthy') return false;
    this.successes++;
    if (this.health === 'unknown' || this.successes >= this.options.healthyThreshold) {
      this.health = 'healthy';
      this.successes = 0;
      return true;
    }
    return false;
  }

  /** An active check failed, for `reason`. Returns true when this took the instance out of rotation. */
  checkFailed(reason: string): boolean {
    this.successes = 0;
    this.failures++;
    if (
      this.health !== 'unhealthy' &&
      (this.health === 'unknown' || this.failures >= this.options.unhealthyThreshold)
    ) {
      this.ejected(reason);
      return true;
    }
    return false;
  }

  /** A live request could not connect, for `reason`: out of rotation at once, until checks pass again. */
  eject(reason: string): boolean {
    this.successes = 0;
    if (this.health === 'unhealthy') return false;
    this.ejected(reason);
    return true;
  }

  private ejected(reason: string): void {
    this.health = 'unhealthy';
    this.ejections++;
    this.lastEjection = { reason, at: new Date().toISOString() };
  }

  /**
   * Close the current connections once their requests finish, and open fresh ones for what comes next
   * (after a switch the old pool keeps no idle sockets, but can serve previews and rollbacks at once).
   */
  drainConnections(): Promise<void> {
    const old = this.pool;
    this.pool = this.newPool();
    return old.close();
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
