// The release controller: owns the desired state and the release state machine, runs the gates, and
// tells the driver and the router what to do. Every step is recorded durably; on start it converges
// (exactly one active color, serving; an interrupted release continues or is cleanly aborted).
import type { Logger } from 'pino';
import { setTimeout as delay } from 'node:timers/promises';
import { setMaxListeners } from 'node:events';
import { GuardgateError, isGuardgateError } from '../vocabulary/errors.js';
import type { Traffic } from './traffic.js';
import { otherColor, type Color } from '../vocabulary/colors.js';
import { readyInstanceUrl, type Deployment, type Driver, type EnvironmentSpec } from '../drivers/driver.js';
import { PRE_SWITCH_GATES, runGate, type PreSwitchGate } from '../gates/run.js';
import type { AuditStore } from '../store/audit/store.js';
import { EVIDENCE_HEADER } from '../shared/headers.js';
import { brokenGate, gateOutcome, type GateReport } from '../gates/report.js';
import { prometheusProbe } from '../gates/prometheus.js';
import { routerProbe, runWatchGate } from '../gates/watch.js';
import { instancesProbe } from '../gates/instances-probe.js';
import type { ReleaseSpec } from './spec.js';
import { environmentOf } from './environment.js';
import { isOpen, type ReleaseState } from './states.js';
import { CONTROLLER, type ControllerStore, type OperatorAction, type Release } from './store.js';
import type { TextMode } from '../store/audit/record.js';
import { secretRefused, type SecretPolicy } from '../config/secret.js';
import type { StoreHealth } from './store-resilient.js';
import { loadSuite } from '../gates/suite.js';
import { suiteFiles } from './spec.js';
import { ColorTimers } from './timers.js';
import {
  configHashOf,
  type ControllerStatus,
  type EnvironmentStatus,
  type Progress,
  type ReleaseView,
} from './views.js';

/** What the controller is given besides its store, driver and traffic. */
export interface ControllerOptions {
  /** The environment `up` starts with when nothing was ever deployed. */
  initial: EnvironmentSpec;
  /** The bearer the gates send (the gate token, never the admin token): preview through the router, load straight at instances. */
  credentials?: string | undefined;
  /** Certificates the gates trust besides the system's (the private CA of the public listener). */
  gateTrust?: (() => string[]) | undefined;
  /** What of users' text gate evidence may keep: the audit log's policy (none: digests only). */
  auditText?: TextMode;
  /** The audit log, read for the shadow gate's replay of the last audited texts. */
  audit?: Pick<AuditStore, 'query'>;
  /** The secrets a release spec may name; none when not given. */
  releaseSecrets?: SecretPolicy;
  /** Whether the store answers (a ResilientStore): status answers from memory while it does not. */
  storeHealth?: StoreHealth & { probe(): void; stop(): void };
}

/** The release controller: deploys a candidate, runs its gates, switches, watches, rolls back, and keeps history. */
export class Controller {
  private running: Promise<void> | undefined;
  /** A kept environment being redeployed after a restart: a rollback or a release waits for it. */
  private restoringKept: Promise<void> | undefined;
  private aborting: AbortController | undefined;
  private approval: ((actor: string) => Promise<void>) | undefined;
  /** Who asked for the rollback that ends a watch early. */
  private rollbackActor: string | undefined;
  /** When each kept color is retired (its scaleDownDelay). */
  private readonly retireTimers = new ColorTimers();
  private abortTimer: NodeJS.Timeout | undefined;
  progress: Progress | null = null;
  /** The last status read from the store: what the admin API shows while the store is unreachable. */
  private lastStatus: ControllerStatus | null = null;
  private closing = false;

  constructor(
    private readonly store: ControllerStore,
    private readonly driver: Driver,
    private readonly traffic: Traffic,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
  ) {}

  // ------------------------------------------------------------------ start and converge

  /**
   * Adopt the recorded active environment where it still runs (Kubernetes: never redeployed, restarted or
   * deleted by a restart), else bring it up; point the router at it, and settle any interrupted release.
   */
  async start(): Promise<void> {
    const active = (await this.store.active()) ?? this.options.initial.color;
    const stored = (await this.store.environment(active))?.spec ?? { ...this.options.initial, color: active };
    const adopted = await this.driver.adopt(stored);
    if (adopted === null) await this.bringUp(stored);
    else await this.route(adopted);
    await this.traffic.switchTo(active, { force: true });
    // Pods its cluster replaces (an eviction, a node drain) come back at new addresses: the router follows.
    this.driver.onInstancesChanged?.((deployment) => {
      this.route(deployment).catch((error: unknown) =>
        this.log.warn({ err: error, color: deployment.color }, 'following the instances of an environment failed'),
      );
    });
    await this.store.setActive(active);
    await this.store.saveEnvironment(stored);
    const other = await this.store.environment(otherColor(active));
    const open = await this.store.openRelease();
    if (open === null) {
      if (other === null) return;
      const kept = await this.driver.adopt(other.spec);
      if (kept !== null) await this.route(kept);
      const keptFor = other.retireAt === null ? 0 : Date.parse(other.retireAt) - Date.now();
      // A kept old environment that outlived the previous controller (Kubernetes) stays kept until its retire
      // time; one that died with it (local processes) is brought back beside the active one while it is still
      // to be kept, so that the release's "kept for an instant rollback" stays true and a rollback one step.
      if (this.driver.describe(other.spec.color) !== null && other.retireAt !== null)
        this.scheduleRetire(other.spec.color, Math.max(0, keptFor));
      else if (keptFor > 0) this.restoringKept = this.restoreKept(other.spec, keptFor);
      else await this.store.saveEnvironment(other.spec, new Date().toISOString());
      return;
    }
    if (open.state === 'watching' && active === open.candidate) {
      this.log.warn({ release: open.version }, 'controller restarted while watching: watching again');
      this.running = this.resumeWatch(open);
      return;
    }
    // A candidate that outlived the previous controller (Kubernetes) is torn down; local ones died with it.
    await this.teardownStandby(open.candidate).catch((error: unknown) =>
      this.log.error({ err: error, color: open.candidate }, 'teardown of the interrupted candidate failed'),
    );
    await this.traffic.setMembers(open.candidate, [], null);
    await this.store.transition(open.id, 'aborted', {
      note: `controller restarted while ${open.state}; the candidate was discarded and ${active} stays active`,
    });
    this.log.warn({ release: open.version, state: open.state }, 'controller restarted mid-release: release aborted');
  }

  /** Redeploys a kept environment that did not survive a restart, and retires it at its time; if it cannot come back, it is recorded as retired. */
  private async restoreKept(spec: EnvironmentSpec, keptFor: number): Promise<void> {
    try {
      await this.bringUp(spec);
      this.scheduleRetire(spec.color, keptFor);
      this.log.info(
        { color: spec.color, version: spec.version },
        'kept environment redeployed after the restart: a rollback stays one atomic switch',
      );
    } catch (error) {
      this.log.error(
        { err: error, color: spec.color },
        'the kept environment could not be redeployed after the restart: a rollback will redeploy it',
      );
      await this.store.saveEnvironment(spec, new Date().toISOString()).catch(() => undefined);
    }
  }

  private async bringUp(spec: EnvironmentSpec): Promise<void> {
    await this.route(await this.driver.deploy(spec));
  }

  /** The traffic's members of an environment's color: its instances, as deployed or adopted. */
  private route(deployment: Deployment): Promise<void> {
    return this.traffic.setMembers(
      deployment.color,
      deployment.instances.map((i) => i.url),
      deployment.version,
    );
  }

  // ------------------------------------------------------------------ operations

  /** Start a release of `spec` to the standby color; the pipeline runs in the background. */
  async release(spec: ReleaseSpec, actor: string = CONTROLLER): Promise<Release> {
    await this.restoringKept;
    // A release is recorded as ended before its candidate's teardown has finished: a new candidate is never
    // deployed into that teardown (its Deployment deleted mid-rollout).
    if ((await this.store.openRelease()) === null) await this.running;
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
        this.options.releaseSecrets ?? { env: [], dirs: [], deniedDirs: [] },
      );
      if (refused !== null) throw new GuardgateError('invalid_request', `engine.apiKey: ${refused}`);
    }
    const active = this.traffic.active;
    const candidate = otherColor(active);
    if (spec.driver !== undefined && spec.driver !== this.driver.kind)
      throw new GuardgateError(
        'invalid_request',
        `the release expects driver ${spec.driver}; this deployment runs ${this.driver.kind} (up --driver)`,
      );
    if (spec.traffic !== undefined && spec.traffic !== this.traffic.kind)
      throw new GuardgateError(
        'invalid_request',
        `the release expects traffic ${spec.traffic}; this deployment moves traffic by ${this.traffic.kind} (up --traffic)`,
      );
    const undeployable = this.driver.cannotDeploy(environmentOf(spec, candidate, spec.replicas));
    if (undeployable !== undefined) throw new GuardgateError('invalid_request', undeployable);
    const release = await this.store.createRelease(spec, candidate, active, actor);
    this.cancelRetire(candidate);
    this.aborting = new AbortController();
    // Gate traffic (replay, load) listens on it from several requests at once.
    setMaxListeners(64, this.aborting.signal);
    this.running = this.pipeline(release, this.aborting.signal).catch(async (error: unknown) => {
      if (isGuardgateError(error) && error.code === 'store_unavailable') return this.failOnStoreOutage(release, error);
      this.log.error({ err: error, release: release.version }, 'release pipeline failed unexpectedly');
    });
    return release;
  }

  /** Approve a release that awaits approval, or force one past a failed gate (recorded as forced). */
  async promote(force: boolean, actor: string = CONTROLLER): Promise<Release> {
    const open = await this.store.openRelease();
    if (open === null) throw new GuardgateError('invalid_state', 'no release is in progress');
    if (open.state === 'blocked' && !force)
      throw new GuardgateError(
        'invalid_state',
        `release ${open.version} failed a gate; promote --force to switch anyway`,
      );
    if (open.state !== 'awaiting_approval' && open.state !== 'blocked')
      throw new GuardgateError('invalid_state', `release ${open.version} is ${open.state}; nothing to promote`);
    await this.approval?.(actor);
    return (await this.store.release(open.id))!;
  }

  /** Stop the release in progress: the active environment is untouched, the candidate is torn down. */
  async abort(actor: string = CONTROLLER): Promise<Release> {
    const open = await this.store.openRelease();
    if (open === null) throw new GuardgateError('invalid_state', 'no release is in progress');
    if (open.state === 'switching' || open.state === 'watching')
      throw new GuardgateError('invalid_state', `release ${open.version} has switched; roll back instead`);
    this.aborting?.abort();
    clearTimeout(this.abortTimer);
    await this.running;
    const after = (await this.store.release(open.id))!;
    if (isOpen(after.state)) await this.finishAbort(after, 'aborted by an operator', actor);
    return (await this.store.release(open.id))!;
  }

  /** Switch back to the previous environment: one atomic step while it is kept, a redeploy otherwise. */
  async rollback(actor: string = CONTROLLER): Promise<Release> {
    await this.restoringKept;
    const latest = await this.store.latestRelease();
    if (latest === null || !['watching', 'stable'].includes(latest.state))
      throw new GuardgateError('invalid_state', 'there is no switched release to roll back');
    if (latest.state === 'watching') {
      this.rollbackActor = actor;
      this.aborting?.abort(); // the watch stops and rolls back itself
      await this.running;
      return (await this.store.release(latest.id))!;
    }
    await this.switchBack(latest, 'rolled back by an operator', undefined, actor);
    return (await this.store.release(latest.id))!;
  }

  /** A manual switch between two deployed environments, recorded durably. */
  async switchTo(
    color: Color,
    force = false,
    actor: string = CONTROLLER,
  ): Promise<{ previous: Color; active: Color; at: string }> {
    if ((await this.store.openRelease()) !== null)
      throw new GuardgateError('release_in_progress', 'a release is in progress; promote, abort or roll it back');
    if (this.driver.describe(color) === null)
      throw new GuardgateError('switch_refused', `the ${color} environment is not deployed`);
    const result = await this.traffic.switchTo(color, { force });
    await this.store.recordAction(
      { actor, action: 'switch', detail: { from: result.previous, to: color, forced: force } },
      color,
    );
    // The color that serves is not "kept until" anything any more.
    this.cancelRetire(color);
    const stored = await this.store.environment(color);
    if (stored?.retireAt) await this.store.saveEnvironment(stored.spec, null);
    this.log.warn({ from: result.previous, to: color, forced: force, actor }, 'manual switch');
    return result;
  }

  /** Operator actions outside releases (manual switches), newest first. */
  async actions(limit: number): Promise<OperatorAction[]> {
    return this.store.actions(limit);
  }

  /** The status; from memory, marked degraded, while the store does not answer (within 2 s). */
  async status(): Promise<ControllerStatus> {
    const health = this.options.storeHealth;
    // What this process knows without the store: the router's active color, the driver's environments, and
    // the release as last read.
    const degraded = (): ControllerStatus | null => {
      if (!health?.degradedSince) return null;
      const env = (color: Color) => {
        const deployment = this.driver.describe(color);
        if (deployment === null) return null;
        const { version, replicas, instances } = deployment;
        return { version, replicas, instances, retireAt: this.lastStatus?.environments[color]?.retireAt ?? null };
      };
      return {
        active: this.traffic.active,
        environments: { blue: env('blue'), green: env('green') },
        release: this.lastStatus?.release ?? null,
        degraded: { since: health.degradedSince.toISOString(), error: health.lastError },
      };
    };
    const fromMemory = degraded();
    if (fromMemory) {
      health!.probe(); // in the background: the next status reads the store again once it answers
      return fromMemory;
    }
    try {
      this.lastStatus = await Promise.race([
        this.readStatus(),
        delay(2_000).then(() => {
          throw new GuardgateError('store_unavailable', "the controller's store did not answer within 2 s", {
            retryAfter: 5,
          });
        }),
      ]);
      return this.lastStatus;
    } catch (error) {
      const cached = degraded();
      if (cached) return cached;
      throw error;
    }
  }

  private async readStatus(): Promise<ControllerStatus> {
    const env = async (color: Color): Promise<EnvironmentStatus | null> => {
      const deployment = this.driver.describe(color);
      if (deployment === null) return null;
      const stored = await this.store.environment(color);
      // The active color is never shown as about to be retired, whatever is stored.
      const retireAt = color === this.traffic.active ? null : (stored?.retireAt ?? null);
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
    const latest = await this.store.latestRelease();
    return {
      active: this.traffic.active,
      environments: { blue: await env('blue'), green: await env('green') },
      release: latest && (await this.view(latest)),
    };
  }

  async view(release: Release): Promise<ReleaseView> {
    const transitions = await this.store.transitions(release.id);
    const gates = transitions.flatMap((t) =>
      t.evidence && typeof t.evidence === 'object' && 'gate' in t.evidence ? [t.evidence as GateReport] : [],
    );
    return { ...release, transitions, gates };
  }

  /** The change record; 503 store_unavailable within 2 s while the store does not answer. */
  async history(limit: number): Promise<ReleaseView[]> {
    if (this.options.storeHealth?.degradedSince)
      throw new GuardgateError(
        'store_unavailable',
        "the controller's store is unreachable; history is shown again once it answers",
        { retryAfter: 5 },
      );
    return Promise.race([
      (async () => Promise.all((await this.store.releases(limit)).map((r) => this.view(r))))(),
      delay(2_000).then(() => {
        throw new GuardgateError('store_unavailable', "the controller's store did not answer within 2 s", {
          retryAfter: 5,
        });
      }),
    ]);
  }

  /** Ready instances of the active color, as the traffic sees them. */
  activeReadyInstances(): Promise<number> {
    return this.traffic.healthyCount(this.traffic.active);
  }

  /** Resolves when the release in progress (if any) has settled. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.aborting?.abort();
    clearTimeout(this.abortTimer);
    this.retireTimers.clear();
    await this.restoringKept;
    // The pipeline records how it stopped; through a store outage it may not wait that out.
    const stopped = this.running?.catch(() => undefined);
    await Promise.race([stopped, delay(10_000)]);
    this.options.storeHealth?.stop();
    await Promise.race([stopped, delay(2_000)]);
  }

  // ------------------------------------------------------------------ the pipeline

  private step(
    release: Release,
    state: ReleaseState,
    step: string,
    detail?: string,
    figures?: Record<string, number>,
  ): void {
    // A new detail of the same step keeps the step's start: `release --wait` counts from it.
    const same = this.progress?.releaseId === release.id && this.progress.step === step;
    this.progress = {
      releaseId: release.id,
      state,
      step,
      ...(detail ? { detail } : {}),
      ...(figures ? { figures } : {}),
      startedAt: same ? this.progress!.startedAt : new Date().toISOString(),
    };
  }

  private async pipeline(release: Release, signal: AbortSignal): Promise<void> {
    const { spec, candidate } = release;
    // deploying
    this.step(release, 'deploying', `deploying ${spec.version} to ${candidate}`);
    try {
      await this.bringUp(environmentOf(spec, candidate, spec.previewReplicas ?? spec.replicas));
    } catch (error) {
      await this.finishAbort(release, `deploy failed: ${(error as Error).message}`);
      return;
    }
    await this.store.saveEnvironment(environmentOf(spec, candidate, spec.replicas));
    if (signal.aborted) return;
    let current = await this.store.transition(release.id, 'validating', { note: `${candidate} deployed` });

    // validating: functional, load, shadow
    for (const gate of PRE_SWITCH_GATES) {
      if (!spec.gates[gate].enabled) continue;
      if (signal.aborted) return;
      this.step(current, 'validating', `${gate} gate`);
      const report = await this.boundedGate(gate, current, signal);
      if (signal.aborted) return;
      const outcome = gateOutcome(report, gate === 'shadow' ? spec.gates.shadow.onInconclusive : 'fail');
      const said = report.inconclusive
        ? `INCONCLUSIVE (onInconclusive: ${outcome === 'passed' ? 'pass' : outcome === 'wait' ? 'wait' : 'fail'})`
        : report.passed
          ? 'passed'
          : 'FAILED';
      current = await this.store.transition(current.id, 'validating', {
        note: `${gate} gate ${said}: ${report.summary}`,
        evidence: report,
      });
      if (outcome !== 'passed') {
        current = await this.store.transition(current.id, 'blocked', {
          note:
            outcome === 'wait'
              ? `${gate} gate inconclusive: waiting for an operator (promote --force or abort)`
              : `${gate} gate failed`,
        });
        // An inconclusive gate set to wait is never torn down by the clock: an operator decides.
        const force = await this.waitForDecision(
          current,
          outcome === 'wait' ? Infinity : spec.abortTeardownDelay,
          signal,
        );
        if (!force) {
          if (!signal.aborted) await this.finishAbort(current, `${gate} gate failed`);
          return;
        }
        return this.switchOver((await this.store.release(current.id))!, signal, true);
      }
    }

    if (!spec.autoPromote) {
      current = await this.store.transition(current.id, 'awaiting_approval', {
        note: 'every gate passed; waiting for promote',
      });
      this.step(current, 'awaiting_approval', 'waiting for promote');
      const approved = await this.waitForDecision(current, Infinity, signal);
      if (!approved && signal.aborted) return;
    }
    await this.switchOver((await this.store.release(current.id))!, signal, false);
  }

  /** A pre-switch gate against the candidate, with the traffic's endpoints and the controller's credential. */
  private async boundedGate(gate: PreSwitchGate, release: Release, signal: AbortSignal): Promise<GateReport> {
    const direct = (color: Color) => readyInstanceUrl(this.driver.describe(color)) ?? '';
    // Gate traffic is evidence, not user traffic: not audited, judged by the engine (the admin credential vouches).
    const credentials: Record<string, string> =
      this.options.credentials === undefined
        ? {}
        : { authorization: `Bearer ${this.options.credentials}`, [EVIDENCE_HEADER]: '1' };
    return runGate(
      gate,
      release.spec.gates,
      {
        live: this.traffic.live(),
        preview: this.traffic.preview(),
        activeInstance: direct(release.previous),
        candidateInstance: direct(release.candidate),
        colors: { active: release.previous, candidate: release.candidate },
        checkSides: true,
      },
      {
        credentials,
        auditText: this.options.auditText ?? 'none',
        mirror: this.traffic.mirror,
        audit: this.options.audit,
        trust: this.options.gateTrust,
        log: this.log.child({ release: release.version }),
        onProgress: (name, detail, figures) => this.step(release, 'validating', `${name} gate`, detail, figures),
      },
      signal,
    );
  }

  /** Wait for promote (true = forced or approved) or, after `timeoutMs`, give up (false). */
  private waitForDecision(release: Release, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(this.abortTimer);
        this.approval = undefined;
        resolve(value);
      };
      this.approval = async (actor) => {
        if (release.state === 'blocked')
          await this.store.transition(release.id, 'switching', {
            note: 'forced past a failed gate by an operator',
            forced: true,
            actor,
          });
        else await this.store.transition(release.id, 'switching', { note: 'approved by an operator', actor });
        done(true);
      };
      if (Number.isFinite(timeoutMs)) this.abortTimer = setTimeout(() => done(false), timeoutMs);
      signal.addEventListener('abort', () => done(false), { once: true });
    });
  }

  private async switchOver(release: Release, signal: AbortSignal, forced: boolean): Promise<void> {
    const { spec, candidate, previous } = release;
    let current =
      release.state === 'switching'
        ? release
        : await this.store.transition(release.id, 'switching', { note: forced ? 'forced' : 'gates passed' });
    this.step(current, 'switching', `switching to ${candidate}`);
    try {
      if ((spec.previewReplicas ?? spec.replicas) < spec.replicas) {
        const deployment = await this.driver.scale(candidate, spec.replicas);
        await this.traffic.setMembers(
          candidate,
          deployment.instances.map((i) => i.url),
          spec.version,
        );
      }
      const result = await this.traffic.switchTo(candidate);
      current = await this.store.transition(current.id, 'watching', {
        note: `switched ${previous} → ${candidate} at ${result.at}`,
        active: candidate,
      });
    } catch (error) {
      await this.finishAbort(current, `switch failed: ${(error as Error).message}`);
      return;
    }
    await this.watch(current, signal);
  }

  private async watch(release: Release, signal: AbortSignal): Promise<void> {
    const { spec } = release;
    if (!spec.gates.watch.enabled) {
      await this.settle(release);
      return;
    }
    this.step(release, 'watching', 'watch gate');
    const { prometheus } = spec.gates.watch;
    const probe =
      prometheus !== undefined
        ? prometheusProbe(prometheus.url, release.candidate)
        : this.traffic.metrics !== undefined
          ? await routerProbe(this.traffic.metrics, release.candidate)
          : await instancesProbe(
              () => (this.driver.describe(release.candidate)?.instances ?? []).map((i) => i.url),
              this.options.credentials,
            );
    let report: GateReport;
    try {
      report = await runWatchGate(probe, spec.gates.watch, signal, (line) =>
        this.step(release, 'watching', 'watch gate', line),
      );
    } catch (error) {
      report = brokenGate('watch', error, new Date().toISOString());
    }
    // Too little traffic to judge: rolled back unless the spec says such a watch passes (recorded as inconclusive).
    if (report.inconclusive && spec.gates.watch.onInconclusive === 'pass' && !signal.aborted) {
      await this.settle(release, report);
      return;
    }
    if (signal.aborted && (report.passed || report.inconclusive)) {
      await this.switchBack(release, 'rolled back by an operator during the watch', report, this.rollbackActor);
      this.rollbackActor = undefined;
      return;
    }
    if (!report.passed) {
      await this.switchBack(
        release,
        `watch ${report.inconclusive ? 'inconclusive (onInconclusive: fail)' : 'failed'}: ${report.summary}`,
        report,
      );
      return;
    }
    await this.settle(release, report);
  }

  private async resumeWatch(release: Release): Promise<void> {
    this.aborting = new AbortController();
    // Gate traffic (replay, load) listens on it from several requests at once.
    setMaxListeners(64, this.aborting.signal);
    await this.watch(release, this.aborting.signal);
  }

  /** Stable: the old environment stays for an instant rollback until scaleDownDelay has passed. */
  private async settle(release: Release, report?: GateReport): Promise<void> {
    const retireAt = new Date(Date.now() + release.spec.scaleDownDelay);
    const previous = await this.store.environment(release.previous);
    if (previous !== null) await this.store.saveEnvironment(previous.spec, retireAt.toISOString());
    await this.store.transition(release.id, 'stable', {
      note: `stable; ${release.previous} is kept until ${retireAt.toISOString()} for an instant rollback`,
      ...(report ? { evidence: report } : {}),
    });
    this.scheduleRetire(release.previous, release.spec.scaleDownDelay);
    this.progress = null;
  }

  private scheduleRetire(color: Color, delayMs: number): void {
    this.retireTimers.set(color, delayMs, () => {
      if (this.traffic.active === color) return;
      void this.teardownStandby(color)
        .then(() => this.log.info({ color }, 'old environment retired after the scale-down delay'))
        .catch((error: unknown) => this.log.error({ err: error, color }, 'retiring the old environment failed'));
    });
  }

  /**
   * Tears down a color that does not serve. The color traffic goes to is never torn down by the controller,
   * whatever path asks (an interrupted release, a retire timer, an abort after a half-done switch): only an
   * operator's explicit command outside it deletes what serves.
   */
  private async teardownStandby(color: Color): Promise<void> {
    if (color === this.traffic.active) {
      this.log.error({ color }, 'refused to tear down the active color: it serves live traffic');
      return;
    }
    await this.driver.teardown(color);
  }

  private cancelRetire(color: Color): void {
    this.retireTimers.cancel(color);
  }

  /** Back to the previous environment: instant when it is kept, after a redeploy when it is not. */
  private async switchBack(
    release: Release,
    note: string,
    evidence?: GateReport,
    actor: string = CONTROLLER,
  ): Promise<void> {
    const { previous, candidate } = release;
    this.cancelRetire(previous);
    const stored = await this.store.environment(previous);
    if (this.driver.describe(previous) === null) {
      if (stored === null)
        throw new GuardgateError('invalid_state', `the ${previous} environment is gone and was never recorded`);
      await this.bringUp(stored.spec);
    }
    await this.traffic.switchTo(previous, { force: true });
    await this.store.transition(release.id, 'rolled_back', {
      note,
      actor,
      active: previous,
      ...(evidence ? { evidence } : {}),
    });
    if (stored !== null) await this.store.saveEnvironment(stored.spec);
    this.log.warn({ release: release.version, to: previous }, `rolled back: ${note}`);
    await this.teardownStandby(candidate);
    this.progress = null;
  }

  /**
   * The store stayed unreachable longer than the bound while a release ran. The durable record is the truth:
   * traffic goes back to the color it names as active, the candidate is torn down, and the release is
   * recorded as aborted, with the outage as evidence, as soon as the store answers again.
   */
  private async failOnStoreOutage(release: Release, outage: GuardgateError): Promise<void> {
    const evidence = {
      outage: { since: this.options.storeHealth?.degradedSince?.toISOString() ?? null, error: outage.message },
    };
    this.log.error({ release: release.version, err: outage }, "release failed: the controller's store is unreachable");
    await this.traffic.mirror?.setMirror(0);
    this.progress = null;
    // Live traffic first: go back only to a previous color that can serve; otherwise keep the candidate
    // serving and leave the release open for an operator (promote, roll back) once the store answers.
    if (this.traffic.active !== release.previous && (await this.traffic.healthyCount(release.previous)) === 0) {
      this.log.error(
        { release: release.version },
        'store unreachable and the previous color has no healthy instance: the candidate keeps serving; decide once the store answers',
      );
      return;
    }
    if (this.traffic.active !== release.previous) await this.traffic.switchTo(release.previous, { force: true });
    await this.teardownStandby(release.candidate).catch((error: unknown) =>
      this.log.error({ err: error }, 'teardown failed'),
    );
    await this.traffic.setMembers(release.candidate, [], null);
    for (let wait = 1_000; ; wait = Math.min(wait * 2, 30_000)) {
      try {
        const stored = await this.store.release(release.id);
        if (stored === null || !isOpen(stored.state)) return; // settled meanwhile
        // A release that had switched goes back (rolled_back); one that had not is aborted.
        const end = stored.state === 'watching' ? 'rolled_back' : 'aborted';
        await this.store.transition(release.id, end, {
          note: `the controller's store was unreachable; ${release.previous} is active`,
          evidence,
          active: release.previous,
        });
        return;
      } catch (error) {
        if (isGuardgateError(error) && error.code !== 'store_unavailable') return;
        if (this.closing) return;
        await delay(wait);
      }
    }
  }

  private async finishAbort(release: Release, note: string, actor: string = CONTROLLER): Promise<void> {
    await this.traffic.mirror?.setMirror(0);
    // A switch that failed half-way may have moved traffic: it goes back before the candidate is torn down.
    if (this.traffic.active === release.candidate)
      await this.traffic
        .switchTo(release.previous, { force: true })
        .catch((error: unknown) => this.log.error({ err: error }, 'switching back after a failed switch failed'));
    await this.store.transition(release.id, 'aborted', { note, actor });
    this.log.warn({ release: release.version }, `release aborted: ${note}`);
    await this.teardownStandby(release.candidate).catch((error: unknown) =>
      this.log.error({ err: error }, 'teardown failed'),
    );
    await this.traffic.setMembers(release.candidate, [], null);
    this.progress = null;
  }
}
