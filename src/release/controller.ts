// The release controller: owns the desired state and the release state machine, and takes operators'
// commands (release, promote, abort, rollback, switch). Every step is recorded durably. Its parts: what it
// does on start (converge.ts), a release's way through its states (pipeline.ts), its hands on the
// environments (environments.ts), the end of a release through a store outage (outage.ts) and what it
// shows (status.ts).
import type { Logger } from 'pino';
import { setTimeout as delay } from 'node:timers/promises';
import { setMaxListeners } from 'node:events';
import { GuardgateError, isGuardgateError } from '../vocabulary/errors.js';
import type { Traffic } from './traffic.js';
import { otherColor, type Color } from '../vocabulary/colors.js';
import type { Driver } from '../drivers/driver.js';
import type { ReleaseSpec } from './spec.js';
import { environmentOf } from './environment.js';
import { isOpen } from './states.js';
import { CONTROLLER, type ControllerStore, type OperatorAction, type Release } from './store.js';
import { secretRefused } from '../config/secret.js';
import { loadSuite } from '../gates/suite.js';
import { suiteFiles } from './spec.js';
import type { ControllerOptions, ReleaseContext } from './context.js';
import { converge } from './converge.js';
import { Environments } from './environments.js';
import { failOnStoreOutage } from './outage.js';
import { Pipeline } from './pipeline.js';
import { StatusReader } from './status.js';
import type { ControllerStatus, Progress, ReleaseView } from './views.js';

export type { ControllerOptions } from './context.js';

/** The release controller: deploys a candidate, runs its gates, switches, watches, rolls back, and keeps history. */
export class Controller {
  private readonly ctx: ReleaseContext;
  private readonly pipeline: Pipeline;
  private readonly reader: StatusReader;
  private running: Promise<void> | undefined;
  /** A kept environment being redeployed after a restart: a rollback or a release waits for it. */
  private restoringKept: Promise<void> | undefined;
  private aborting: AbortController | undefined;
  private closing = false;
  /** Releases being started: checked, not yet recorded. */
  private starting = 0;

  constructor(store: ControllerStore, driver: Driver, traffic: Traffic, log: Logger, options: ControllerOptions) {
    const environments = new Environments(driver, traffic, log);
    this.ctx = { store, driver, traffic, log, options, environments };
    this.pipeline = new Pipeline(this.ctx);
    this.reader = new StatusReader(this.ctx);
  }

  /** The step the release in progress is at; null between releases. */
  get progress(): Progress | null {
    return this.pipeline.progress;
  }

  /** Converge on the recorded state (see converge.ts): exactly one active color, serving. */
  async start(): Promise<void> {
    const { watch, restoringKept } = await converge(this.ctx);
    this.restoringKept = restoringKept;
    if (watch !== undefined) this.running = this.pipeline.resumeWatch(watch, this.newSignal());
  }

  /** A fresh abort signal for the release about to run (gate traffic listens on it from many requests). */
  private newSignal(): AbortSignal {
    this.aborting = new AbortController();
    setMaxListeners(64, this.aborting.signal);
    return this.aborting.signal;
  }

  // ------------------------------------------------------------------ operations

  /**
   * Whether a release is being started (checked, not yet recorded). With `options.releaseBlocked`, a mutual
   * exclusion: each side marks itself, then looks at the other, in one synchronous step.
   */
  get releaseStarting(): boolean {
    return this.starting > 0;
  }

  /** Start a release of `spec` to the standby color; the pipeline runs in the background. */
  async release(spec: ReleaseSpec, actor: string = CONTROLLER): Promise<Release> {
    this.starting++;
    try {
      const blocked = this.ctx.options.releaseBlocked?.();
      if (blocked !== undefined) throw new GuardgateError('invalid_state', blocked);
      return await this.startRelease(spec, actor);
    } finally {
      this.starting--;
    }
  }

  private async startRelease(spec: ReleaseSpec, actor: string): Promise<Release> {
    const { store, driver, traffic, environments, options } = this.ctx;
    await this.restoringKept;
    // A release is recorded as ended before its candidate's teardown has finished: a new candidate is never
    // deployed into that teardown (its Deployment deleted mid-rollout).
    if ((await store.openRelease()) === null) await this.running;
    // Everything that can be checked before anything is deployed is checked now: a bad spec is a 400, not a stuck release.
    for (const [field, path, used] of suiteFiles(spec)) {
      if (!used) continue;
      try {
        loadSuite(path);
      } catch (error) {
        throw new GuardgateError('invalid_request', `${field}: ${(error as Error).message}`);
      }
    }
    if (spec.engine.kind === 'openai' && spec.engine.apiKey !== undefined) {
      const refused = secretRefused(
        spec.engine.apiKey,
        options.releaseSecrets ?? { env: [], dirs: [], deniedDirs: [] },
      );
      if (refused !== null) throw new GuardgateError('invalid_request', `engine.apiKey: ${refused}`);
    }
    const active = traffic.active;
    const candidate = otherColor(active);
    if (spec.driver !== undefined && spec.driver !== driver.kind)
      throw new GuardgateError(
        'invalid_request',
        `the release expects driver ${spec.driver}; this deployment runs ${driver.kind} (up --driver)`,
      );
    if (spec.traffic !== undefined && spec.traffic !== traffic.kind)
      throw new GuardgateError(
        'invalid_request',
        `the release expects traffic ${spec.traffic}; this deployment moves traffic by ${traffic.kind} (up --traffic)`,
      );
    if (spec.strategy === 'canary') {
      if (traffic.weights === undefined)
        throw new GuardgateError(
          'invalid_request',
          `strategy canary needs traffic that splits live requests by weight; ${traffic.kind} cannot`,
        );
      const unsplittable = traffic.weights.cannotSplit({
        weights: spec.canary.steps.map((s) => s.weight),
        stickyHeader: spec.canary.stickyHeader,
        replicas: { stable: driver.describe(active)?.replicas ?? 1, candidate: spec.replicas },
      });
      if (unsplittable !== undefined) throw new GuardgateError('invalid_request', unsplittable);
    }
    const undeployable = driver.cannotDeploy(environmentOf(spec, candidate, spec.replicas));
    if (undeployable !== undefined) throw new GuardgateError('invalid_request', undeployable);
    const release = await store.createRelease(spec, candidate, active, actor);
    environments.cancelRetire(candidate);
    this.running = this.pipeline.run(release, this.newSignal()).catch(async (error: unknown) => {
      if (isGuardgateError(error) && error.code === 'store_unavailable') {
        this.pipeline.progress = null;
        return failOnStoreOutage(this.ctx, release, error, () => this.closing);
      }
      this.ctx.log.error({ err: error, release: release.version }, 'release pipeline failed unexpectedly');
    });
    return release;
  }

  /** Approve a release that awaits approval, or force one past a failed gate (recorded as forced). */
  async promote(force: boolean, actor: string = CONTROLLER): Promise<Release> {
    const open = await this.ctx.store.openRelease();
    if (open === null) throw new GuardgateError('invalid_state', 'no release is in progress');
    if (open.state === 'blocked' && !force)
      throw new GuardgateError(
        'invalid_state',
        `release ${open.version} failed a gate; promote --force to switch anyway`,
      );
    const pausedCanary = open.state === 'canary' && this.pipeline.awaitsPromote;
    if (open.state !== 'awaiting_approval' && open.state !== 'blocked' && !pausedCanary)
      throw new GuardgateError('invalid_state', `release ${open.version} is ${open.state}; nothing to promote`);
    await this.pipeline.approve(actor);
    return (await this.ctx.store.release(open.id))!;
  }

  /** Stop the release in progress: the active environment is untouched, the candidate is torn down. */
  async abort(actor: string = CONTROLLER): Promise<Release> {
    const { store } = this.ctx;
    const open = await store.openRelease();
    if (open === null) throw new GuardgateError('invalid_state', 'no release is in progress');
    if (open.state === 'switching' || open.state === 'watching')
      throw new GuardgateError('invalid_state', `release ${open.version} has switched; roll back instead`);
    this.aborting?.abort();
    this.pipeline.stopWaiting();
    await this.running;
    const after = (await store.release(open.id))!;
    if (isOpen(after.state)) await this.pipeline.finishAbort(after, 'aborted by an operator', actor);
    return (await store.release(open.id))!;
  }

  /** Switch back to the previous environment: one atomic step while it is kept, a redeploy otherwise. */
  async rollback(actor: string = CONTROLLER): Promise<Release> {
    const { store } = this.ctx;
    await this.restoringKept;
    const latest = await store.latestRelease();
    if (latest === null || !['canary', 'watching', 'stable'].includes(latest.state))
      throw new GuardgateError('invalid_state', 'there is no switched release to roll back');
    if (latest.state === 'watching' || latest.state === 'canary') {
      this.pipeline.rollbackBy(actor);
      this.aborting?.abort(); // the watch stops and rolls back itself
      await this.running;
      return (await store.release(latest.id))!;
    }
    await this.pipeline.switchBack(latest, 'rolled back by an operator', undefined, actor);
    return (await store.release(latest.id))!;
  }

  /** Hold the canary step in progress at its weight (`paused`), or let it go on; recorded with the actor. */
  async holdCanary(paused: boolean, actor: string = CONTROLLER): Promise<Release> {
    const open = await this.ctx.store.openRelease();
    if (open === null || open.state !== 'canary' || !this.pipeline.holdCanary(paused))
      throw new GuardgateError('invalid_state', 'no canary is in progress');
    return this.ctx.store.transition(open.id, 'canary', {
      note: paused ? 'canary paused by an operator: the step holds its weight' : 'canary resumed by an operator',
      actor,
    });
  }

  /** A manual switch between two deployed environments, recorded durably. */
  async switchTo(
    color: Color,
    force = false,
    actor: string = CONTROLLER,
  ): Promise<{ previous: Color; active: Color; at: string }> {
    const { store, driver, traffic, environments, log } = this.ctx;
    if ((await store.openRelease()) !== null)
      throw new GuardgateError('release_in_progress', 'a release is in progress; promote, abort or roll it back');
    if (driver.describe(color) === null)
      throw new GuardgateError('switch_refused', `the ${color} environment is not deployed`);
    const result = await traffic.switchTo(color, { force });
    await store.recordAction(
      { actor, action: 'switch', detail: { from: result.previous, to: color, forced: force } },
      color,
    );
    // The color that serves is not "kept until" anything any more.
    environments.cancelRetire(color);
    const stored = await store.environment(color);
    if (stored?.retireAt) await store.saveEnvironment(stored.spec, null);
    log.warn({ from: result.previous, to: color, forced: force, actor }, 'manual switch');
    return result;
  }

  /** Operator actions outside releases (manual switches), newest first. */
  async actions(limit: number): Promise<OperatorAction[]> {
    return this.ctx.store.actions(limit);
  }

  // ------------------------------------------------------------------ what it shows

  /** The status; from memory, marked degraded, while the store does not answer (within 2 s). */
  status(): Promise<ControllerStatus> {
    return this.reader.status();
  }

  /** A release with its transitions and gate reports. */
  view(release: Release): Promise<ReleaseView> {
    return this.reader.view(release);
  }

  /** The change record; 503 store_unavailable within 2 s while the store does not answer. */
  history(limit: number): Promise<ReleaseView[]> {
    return this.reader.history(limit);
  }

  /** Ready instances of the active color, as the traffic sees them. */
  activeReadyInstances(): Promise<number> {
    return this.ctx.traffic.healthyCount(this.ctx.traffic.active);
  }

  /** Resolves when the release in progress (if any) has settled. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.aborting?.abort();
    this.pipeline.stopWaiting();
    this.ctx.environments.stop();
    await this.restoringKept;
    // The pipeline records how it stopped; through a store outage it may not wait that out.
    const stopped = this.running?.catch(() => undefined);
    await Promise.race([stopped, delay(10_000)]);
    this.ctx.options.storeHealth?.stop();
    await Promise.race([stopped, delay(2_000)]);
  }
}
