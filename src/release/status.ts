// The controller's read side: its status, a release's view (with its transitions and gate reports) and the
// change history; the status answers from memory, marked degraded, while the store does not answer.
import { setTimeout as delay } from 'node:timers/promises';
import type { GateReport } from '../gates/report.js';
import { GuardgateError } from '../vocabulary/errors.js';
import type { Color } from '../vocabulary/colors.js';
import type { ReleaseContext } from './context.js';
import type { Release } from './store.js';
import { configHashOf, type ControllerStatus, type EnvironmentStatus, type ReleaseView } from './views.js';

/** How long a read may wait for the store before it is answered as unavailable. */
const STORE_READ_MS = 2_000;

const storeTooSlow = (): Promise<never> =>
  delay(STORE_READ_MS).then(() => {
    throw new GuardgateError('store_unavailable', "the controller's store did not answer within 2 s", {
      retryAfter: 5,
    });
  });

/** Reads what the controller shows: status, release views, history. */
export class StatusReader {
  /** The last status read from the store: what the admin API shows while the store is unreachable. */
  private lastStatus: ControllerStatus | null = null;

  constructor(private readonly ctx: Omit<ReleaseContext, 'environments' | 'log'>) {}

  /** The status; from memory, marked degraded, while the store does not answer (within 2 s). */
  async status(): Promise<ControllerStatus> {
    const fromMemory = this.degraded();
    if (fromMemory) {
      this.ctx.options.storeHealth!.probe(); // in the background: the next status reads the store again once it answers
      return fromMemory;
    }
    try {
      this.lastStatus = await Promise.race([this.readStatus(), storeTooSlow()]);
      return this.lastStatus;
    } catch (error) {
      const cached = this.degraded();
      if (cached) return cached;
      throw error;
    }
  }

  /**
   * What this process knows without the store, while it is unreachable: the router's active color, the
   * driver's environments, and the release as last read.
   */
  private degraded(): ControllerStatus | null {
    const health = this.ctx.options.storeHealth;
    if (!health?.degradedSince) return null;
    const env = (color: Color) => {
      const deployment = this.ctx.driver.describe(color);
      if (deployment === null) return null;
      const { version, replicas, instances } = deployment;
      return { version, replicas, instances, retireAt: this.lastStatus?.environments[color]?.retireAt ?? null };
    };
    return {
      active: this.ctx.traffic.active,
      environments: { blue: env('blue'), green: env('green') },
      release: this.lastStatus?.release ?? null,
      degraded: { since: health.degradedSince.toISOString(), error: health.lastError },
    };
  }

  private async readStatus(): Promise<ControllerStatus> {
    const { driver, store, traffic } = this.ctx;
    const env = async (color: Color): Promise<EnvironmentStatus | null> => {
      const deployment = driver.describe(color);
      if (deployment === null) return null;
      const stored = await store.environment(color);
      // The active color is never shown as about to be retired, whatever is stored.
      const retireAt = color === traffic.active ? null : (stored?.retireAt ?? null);
      // The stored spec is this deployment's once their versions match (a candidate's is stored once deployed).
      const spec = stored?.spec.version === deployment.version ? stored.spec : undefined;
      return {
        version: deployment.version,
        replicas: deployment.replicas,
        instances: deployment.instances,
        retireAt,
        ...(spec ? { spec, configHash: configHashOf(spec) } : {}),
      };
    };
    const latest = await store.latestRelease();
    return {
      active: traffic.active,
      environments: { blue: await env('blue'), green: await env('green') },
      release: latest && (await this.view(latest)),
    };
  }

  /** A release with its transitions and the gate reports they carry. */
  async view(release: Release): Promise<ReleaseView> {
    const transitions = await this.ctx.store.transitions(release.id);
    const gates = transitions.flatMap((t) =>
      t.evidence && typeof t.evidence === 'object' && 'gate' in t.evidence ? [t.evidence as GateReport] : [],
    );
    return { ...release, transitions, gates };
  }

  /** The change record; 503 store_unavailable within 2 s while the store does not answer. */
  async history(limit: number): Promise<ReleaseView[]> {
    if (this.ctx.options.storeHealth?.degradedSince)
      throw new GuardgateError(
        'store_unavailable',
        "the controller's store is unreachable; history is shown again once it answers",
        { retryAfter: 5 },
      );
    return Promise.race([
      (async () => Promise.all((await this.ctx.store.releases(limit)).map((r) => this.view(r))))(),
      storeTooSlow(),
    ]);
  }
}
