// Active health checks: every upstream of both colors is asked for its readiness on an interval,
// over connections of their own (a saturated data path must not fail the checks).
import { Agent } from 'undici';
import type { ColorPool } from './pool.js';
import type { Upstream } from './upstream.js';

/** How instances are checked: interval, timeout, thresholds. */
export interface HealthCheckOptions {
  intervalMs: number;
  timeoutMs: number;
  path: string;
}

/** Told when an instance goes in or out of rotation. */
export type HealthListener = (upstream: Upstream, pool: ColorPool, healthy: boolean) => void;

/** What an instance said of why it is not ready (`{"ready":false,"reason":…}`), as `: reason`, or nothing. */
function readinessReason(body: string): string {
  try {
    const reason = (JSON.parse(body) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? `: ${reason.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

/** Checks every instance's /readyz on an interval; ejects and readmits by thresholds. */
export class HealthChecker {
  private readonly agent = new Agent({ connections: 1, keepAliveTimeout: 30_000 });
  private timer: NodeJS.Timeout | undefined;
  /**
   * The check in flight of each instance: at most one at a time. An interval shorter than an instance takes to
   * answer would otherwise queue checks on its connection until they time out waiting, and eject an instance
   * that answers every one of them in time.
   */
  private readonly inFlight = new Map<Upstream, Promise<void>>();

  constructor(
    private readonly pools: readonly ColorPool[],
    private readonly options: HealthCheckOptions,
    private readonly onChange: HealthListener,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.checkAll(), this.options.intervalMs);
    this.timer.unref();
    void this.checkAll();
  }

  checkAll(): Promise<void> {
    return Promise.all(this.pools.flatMap((pool) => pool.upstreams.map((upstream) => this.check(upstream, pool)))).then(
      () => undefined,
    );
  }

  /**
   * One check of one instance; its outcome moves the instance in or out of rotation. A check that times out
   * while the instance answers live requests counts neither way: it is busy, not gone (a saturated machine
   * would otherwise eject every instance of a color as it serves, and refuse everything). A refused, reset or
   * unready answer counts as ever, and so does a timeout once no live answer came within the last interval.
   */
  check(upstream: Upstream, pool: ColorPool): Promise<void> {
    const running = this.inFlight.get(upstream);
    if (running !== undefined) return running;
    const checked = this.checkOnce(upstream, pool).finally(() => this.inFlight.delete(upstream));
    this.inFlight.set(upstream, checked);
    return checked;
  }

  private async checkOnce(upstream: Upstream, pool: ColorPool): Promise<void> {
    const { path, timeoutMs } = this.options;
    let failure: string | undefined;
    try {
      const response = await this.agent.request({
        origin: upstream.origin,
        path,
        method: 'GET',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.statusCode === 200) await response.body.dump();
      else failure = `GET ${path} answered ${response.statusCode}${readinessReason(await response.body.text())}`;
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        if (this.servedLately(upstream)) return;
        failure = `GET ${path} timed out after ${timeoutMs} ms, and no live request was answered meanwhile`;
      } else failure = `GET ${path} failed: ${(error as { code?: string }).code ?? (error as Error).message}`;
    }
    if (failure === undefined) {
      if (upstream.checkPassed()) this.onChange(upstream, pool, true);
    } else if (upstream.checkFailed(failure)) this.onChange(upstream, pool, false);
  }

  /** The instance answered a live request (no server error) within the last interval and check timeout. */
  private servedLately(upstream: Upstream): boolean {
    return performance.now() - upstream.lastAnsweredAt <= this.options.intervalMs + this.options.timeoutMs;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.agent.destroy();
  }
}
