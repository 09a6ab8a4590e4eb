// The controller's hands on the two environments: deploy one and point the traffic's members at it, tear
// down a color that does not serve, and retire a kept color when its scale-down delay has passed.
import type { Logger } from 'pino';
import type { Deployment, Driver, EnvironmentSpec } from '../drivers/driver.js';
import type { Color } from '../vocabulary/colors.js';
import { ColorTimers } from './timers.js';
import type { Traffic } from './traffic.js';

/** How long a teardown waits for the requests still in flight to a color that stopped serving. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Deploys, routes, tears down and retires environments; never the color that serves. */
export class Environments {
  /** When each kept color is retired (its scaleDownDelay). */
  private readonly retireTimers = new ColorTimers();

  constructor(
    private readonly driver: Driver,
    private readonly traffic: Traffic,
    private readonly log: Logger,
  ) {}

  /** Deploy `spec` and make its instances the traffic's members of its color. */
  async bringUp(spec: EnvironmentSpec): Promise<void> {
    await this.route(await this.driver.deploy(spec));
  }

  /** The traffic's members of an environment's color: its instances, as deployed or adopted. */
  route(deployment: Deployment): Promise<void> {
    return this.traffic.setMembers(
      deployment.color,
      deployment.instances.map((i) => i.url),
      deployment.version,
    );
  }

  /**
   * Tears down a color that does not serve. The color traffic goes to is never torn down by the controller,
   * whatever path asks (an interrupted release, a retire timer, an abort after a half-done switch): only an
   * operator's explicit command outside it deletes what serves.
   */
  async teardownStandby(color: Color): Promise<void> {
    if (color === this.traffic.active) {
      this.log.error({ color }, 'refused to tear down the active color: it serves live traffic');
      return;
    }
    // Requests routed to it just before it stopped serving are answered there first.
    await this.traffic
      .drained?.(color, DRAIN_TIMEOUT_MS)
      .catch((error: unknown) =>
        this.log.warn({ err: error, color }, 'could not see whether requests to it were still in flight'),
      );
    // Out of the traffic's members before its instances stop: nothing checks or counts instances that are going.
    await this.traffic.setMembers(color, [], null);
    await this.driver.teardown(color);
  }

  /** Tear `color` down once `delayMs` has passed, unless it serves by then. */
  scheduleRetire(color: Color, delayMs: number): void {
    this.retireTimers.set(color, delayMs, () => {
      if (this.traffic.active === color) return;
      void this.teardownStandby(color)
        .then(() => this.log.info({ color }, 'old environment retired after the scale-down delay'))
        .catch((error: unknown) => this.log.error({ err: error, color }, 'retiring the old environment failed'));
    });
  }

  cancelRetire(color: Color): void {
    this.retireTimers.cancel(color);
  }

  /** Forget every retire timer (the controller stops; the next one reads them from the store). */
  stop(): void {
    this.retireTimers.clear();
  }
}
