// A release's way from deploy to stable: deploy the candidate, run the pre-switch gates (blocked on a
// failure, waiting for an operator or the abort delay), wait for approval unless auto-promoted, switch,
// watch, and settle or switch back. Every step is a durable transition; `progress` is the step in hand.
import { readyInstanceUrl } from '../drivers/driver.js';
import { PRE_SWITCH_GATES, runGate, type PreSwitchGate } from '../gates/run.js';
import { brokenGate, gateOutcome, type GateReport } from '../gates/report.js';
import { runCanary, type CanaryStepEvidence } from '../gates/canary.js';
import { runWatchGate } from '../gates/watch.js';
import { EVIDENCE_HEADER } from '../shared/headers.js';
import { canarySource } from './canary-source.js';
import { GuardgateError } from '../vocabulary/errors.js';
import type { Color } from '../vocabulary/colors.js';
import type { ReleaseContext } from './context.js';
import { environmentOf } from './environment.js';
import type { ReleaseState } from './states.js';
import { CONTROLLER, type Release } from './store.js';
import type { Progress } from './views.js';
import { watchProbe } from './watch-probe.js';

/** Runs releases through their states; one at a time (the controller sees to that). */
export class Pipeline {
  /** The step in hand, for status and `release --wait`; null between releases. */
  progress: Progress | null = null;
  private approval: ((actor: string) => Promise<void>) | undefined;
  private decisionTimer: NodeJS.Timeout | undefined;
  /** Who asked for the rollback that ends a watch (or a canary) early. */
  private rollbackActor: string | undefined;
  /** An operator paused the canary: the step in progress holds its weight. */
  private canaryPaused = false;

  constructor(private readonly ctx: ReleaseContext) {}

  /** Deploy, gate, (await approval,) switch and watch `release`; returns once it has ended or `signal` stopped it. */
  async run(release: Release, signal: AbortSignal): Promise<void> {
    const { store, environments } = this.ctx;
    const { spec, candidate } = release;
    this.step(release, 'deploying', `deploying ${spec.version} to ${candidate}`);
    try {
      await environments.bringUp(environmentOf(spec, candidate, spec.previewReplicas ?? spec.replicas));
    } catch (error) {
      await this.finishAbort(release, `deploy failed: ${(error as Error).message}`);
      return;
    }
    await store.saveEnvironment(environmentOf(spec, candidate, spec.replicas));
    if (signal.aborted) return;
    let current = await store.transition(release.id, 'validating', { note: `${candidate} deployed` });

    for (const gate of PRE_SWITCH_GATES) {
      if (!spec.gates[gate].enabled) continue;
      if (signal.aborted) return;
      this.step(current, 'validating', `${gate} gate`);
      const report = await this.preSwitchGate(gate, current, signal);
      if (signal.aborted) return;
      const outcome = gateOutcome(report, gate === 'shadow' ? spec.gates.shadow.onInconclusive : 'fail');
      const said = report.inconclusive
        ? `INCONCLUSIVE (onInconclusive: ${outcome === 'passed' ? 'pass' : outcome === 'wait' ? 'wait' : 'fail'})`
        : report.passed
          ? 'passed'
          : 'FAILED';
      current = await store.transition(current.id, 'validating', {
        note: `${gate} gate ${said}: ${report.summary}`,
        evidence: report,
      });
      if (outcome !== 'passed') {
        current = await store.transition(current.id, 'blocked', {
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
        return this.proceed((await store.release(current.id))!, signal, true);
      }
    }

    if (!spec.autoPromote) {
      current = await store.transition(current.id, 'awaiting_approval', {
        note: 'every gate passed; waiting for promote',
      });
      this.step(current, 'awaiting_approval', 'waiting for promote');
      const approved = await this.waitForDecision(current, Infinity, signal);
      if (!approved && signal.aborted) return;
    }
    await this.proceed((await store.release(current.id))!, signal, false);
  }

  /** Past the gates: one atomic switch (bluegreen), or the canary steps first. */
  private proceed(release: Release, signal: AbortSignal, forced: boolean): Promise<void> {
    return release.spec.strategy === 'canary'
      ? this.canary(release, signal, forced)
      : this.switchOver(release, signal, forced);
  }

  /**
   * The canary steps (gates/canary.ts) through the traffic's weights; every passed step is a transition with its
   * evidence. All passed: the atomic switch and the watch, as for bluegreen. A breach: the weight goes back to 0
   * at once and the release is rolled back. Stopped by an operator: the weight goes back to 0; a rollback is
   * recorded here, an abort by the controller.
   */
  private async canary(release: Release, signal: AbortSignal, forced: boolean): Promise<void> {
    const { store, traffic, options, log } = this.ctx;
    const { spec, candidate, previous } = release;
    const source = canarySource(this.ctx, release);
    // Where the traffic sizes the candidate to each weight (replica ratios), it grows step by step instead.
    const sizedByWeight = traffic.weights?.sizesStandby === true;
    let current =
      release.state === 'canary'
        ? release
        : await store.transition(release.id, 'canary', {
            note: `canary: ${spec.canary.steps.map((s) => `${s.weight}%`).join(' → ')}${forced ? ' (forced past a failed gate)' : ''}`,
            forced,
          });
    if (source === undefined) {
      await this.finishAbort(current, `traffic ${traffic.kind} cannot split live traffic for a canary`);
      return;
    }
    try {
      if (!sizedByWeight) await this.scaleToFull(release);
    } catch (error) {
      await this.finishAbort(current, `scaling the candidate failed: ${(error as Error).message}`);
      return;
    }
    this.canaryPaused = false;
    const report = await runCanary(
      spec.canary,
      { stable: previous, candidate },
      source,
      {
        textMode: options.auditText ?? 'none',
        paused: () => this.canaryPaused,
        onProgress: (_step, detail, figures) => this.step(current, 'canary', 'canary', detail, figures),
        onStepPassed: async (evidence) => {
          current = await store.transition(current.id, 'canary', {
            note: `canary step ${evidence.step} passed at ${evidence.weight}%: ${evidence.candidate.requests} requests, error rate ${(100 * evidence.candidate.errorRate).toFixed(2)}% (stable ${(100 * evidence.stable.errorRate).toFixed(2)}%), agreement ${(100 * evidence.comparison.agreement).toFixed(1)}% on ${evidence.comparison.samples} verdicts`,
            // A gate report of its own: the dashboard draws each step on the timeline, with its figures.
            evidence: {
              gate: 'canary',
              passed: true,
              samples: evidence.candidate.requests,
              summary: `step ${evidence.step} at ${evidence.weight}%: ${evidence.candidate.requests} requests, agreement ${(100 * evidence.comparison.agreement).toFixed(1)}% on ${evidence.comparison.samples} verdicts`,
              evidence,
              startedAt: evidence.startedAt,
              finishedAt: new Date().toISOString(),
            } satisfies GateReport<CanaryStepEvidence>,
          });
        },
        waitForPromote: (step) => this.waitForCanaryPromote(current, step, signal),
      },
      signal,
    ).catch((error: unknown) => brokenGate('canary', error, new Date().toISOString()));
    if (report.passed && !signal.aborted) {
      try {
        // Sized step by step: the candidate gets all its instances before it becomes the active color.
        if (sizedByWeight) await this.scaleToFull(release, true);
      } catch (error) {
        await this.finishAbort(current, `scaling the candidate failed: ${(error as Error).message}`);
        return;
      }
      await this.switchOver(current, signal, forced);
      return;
    }
    // Live traffic back to the stable version before anything else.
    await source
      .setWeight(0)
      .catch((error: unknown) => log.error({ err: error }, 'taking the canary weight back failed'));
    if (signal.aborted && this.rollbackActor === undefined) return; // an abort: the controller records it
    const actor = this.rollbackActor ?? CONTROLLER;
    this.rollbackActor = undefined;
    await store.transition(current.id, 'rolled_back', {
      note: signal.aborted ? 'canary rolled back by an operator' : `canary failed: ${report.summary}`,
      actor,
      active: previous,
      evidence: report,
    });
    log.warn({ release: release.version }, `canary rolled back: ${report.summary}`);
    await this.ctx.environments
      .teardownStandby(candidate)
      .catch((error: unknown) => log.error({ err: error }, 'teardown failed'));
    this.progress = null;
  }

  /**
   * A candidate started with fewer instances (previewReplicas), or sized to a canary's weight (`resized`), gets
   * all of them before it takes all live traffic.
   */
  private async scaleToFull({ spec, candidate }: Release, resized = false): Promise<void> {
    if (!resized && (spec.previewReplicas ?? spec.replicas) >= spec.replicas) return;
    const deployment = await this.ctx.driver.scale(candidate, spec.replicas);
    await this.ctx.traffic.setMembers(
      candidate,
      deployment.instances.map((i) => i.url),
      spec.version,
    );
  }

  /** A canary step with `pause` passed: hold until an operator promotes (true) or the release is stopped (false). */
  private waitForCanaryPromote(release: Release, step: number, signal: AbortSignal): Promise<boolean> {
    this.step(release, 'canary', 'canary', `paused after step ${step}: waiting for promote`);
    return new Promise((resolve) => {
      this.approval = async (actor) => {
        this.approval = undefined;
        await this.ctx.store.transition(release.id, 'canary', {
          note: `promoted past step ${step} by an operator`,
          actor,
        });
        resolve(true);
      };
      signal.addEventListener(
        'abort',
        () => {
          this.approval = undefined;
          resolve(false);
        },
        { once: true },
      );
    });
  }

  /** An operator holds (true) or lets go (false) the canary step in progress; false when no canary runs. */
  holdCanary(paused: boolean): boolean {
    if (this.progress?.state !== 'canary') return false;
    this.canaryPaused = paused;
    return true;
  }

  /** Whether an operator's promote is awaited (a gate decision, an approval, a paused canary step). */
  get awaitsPromote(): boolean {
    return this.approval !== undefined;
  }

  /** Watch a release that had switched when the controller restarted. */
  resumeWatch(release: Release, signal: AbortSignal): Promise<void> {
    return this.watch(release, signal);
  }

  /** The operator's approval (or force past a failed gate) of the release that waits for one. */
  async approve(actor: string): Promise<void> {
    await this.approval?.(actor);
  }

  /** The watch in hand ends in a rollback by `actor` (once the caller aborts its signal). */
  rollbackBy(actor: string): void {
    this.rollbackActor = actor;
  }

  /** No decision is waited for any more (the release is aborted or the controller stops). */
  stopWaiting(): void {
    clearTimeout(this.decisionTimer);
  }

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

  /** A pre-switch gate against the candidate, with the traffic's endpoints and the controller's credential. */
  private async preSwitchGate(gate: PreSwitchGate, release: Release, signal: AbortSignal): Promise<GateReport> {
    const { driver, traffic, options, log } = this.ctx;
    const direct = (color: Color) => readyInstanceUrl(driver.describe(color)) ?? '';
    // Gate traffic is evidence, not user traffic: not audited, judged by the engine (the gate token vouches).
    const credentials: Record<string, string> =
      options.credentials === undefined
        ? {}
        : { authorization: `Bearer ${options.credentials()}`, [EVIDENCE_HEADER]: '1' };
    return runGate(
      gate,
      release.spec.gates,
      {
        live: traffic.live(),
        preview: traffic.preview(),
        activeInstance: direct(release.previous),
        candidateInstance: direct(release.candidate),
        colors: { active: release.previous, candidate: release.candidate },
        checkSides: true,
      },
      {
        credentials,
        auditText: options.auditText ?? 'none',
        mirror: traffic.mirror,
        audit: options.audit,
        trust: options.gateTrust,
        log: log.child({ release: release.version }),
        onProgress: (name, detail, figures) => this.step(release, 'validating', `${name} gate`, detail, figures),
      },
      signal,
    );
  }

  /** Wait for promote (true = forced or approved) or, after `timeoutMs`, give up (false). */
  private waitForDecision(release: Release, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(this.decisionTimer);
        this.approval = undefined;
        resolve(value);
      };
      // Approved (or forced): on to the switch, or to the canary steps.
      const next = release.spec.strategy === 'canary' ? 'canary' : 'switching';
      this.approval = async (actor) => {
        if (release.state === 'blocked')
          await this.ctx.store.transition(release.id, next, {
            note: 'forced past a failed gate by an operator',
            forced: true,
            actor,
          });
        else await this.ctx.store.transition(release.id, next, { note: 'approved by an operator', actor });
        done(true);
      };
      if (Number.isFinite(timeoutMs)) this.decisionTimer = setTimeout(() => done(false), timeoutMs);
      signal.addEventListener('abort', () => done(false), { once: true });
    });
  }

  private async switchOver(release: Release, signal: AbortSignal, forced: boolean): Promise<void> {
    const { store, traffic } = this.ctx;
    const { candidate, previous } = release;
    let current =
      release.state === 'switching'
        ? release
        : await store.transition(release.id, 'switching', {
            note: release.state === 'canary' ? 'every canary step passed' : forced ? 'forced' : 'gates passed',
          });
    this.step(current, 'switching', `switching to ${candidate}`);
    try {
      await this.scaleToFull(release);
      const result = await traffic.switchTo(candidate);
      current = await store.transition(current.id, 'watching', {
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
    const probe = await watchProbe(this.ctx, release);
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

  /** Stable: the old environment stays for an instant rollback until scaleDownDelay has passed. */
  private async settle(release: Release, report?: GateReport): Promise<void> {
    const { store, environments } = this.ctx;
    const retireAt = new Date(Date.now() + release.spec.scaleDownDelay);
    const previous = await store.environment(release.previous);
    if (previous !== null) await store.saveEnvironment(previous.spec, retireAt.toISOString());
    await store.transition(release.id, 'stable', {
      note: `stable; ${release.previous} is kept until ${retireAt.toISOString()} for an instant rollback`,
      ...(report ? { evidence: report } : {}),
    });
    environments.scheduleRetire(release.previous, release.spec.scaleDownDelay);
    this.progress = null;
  }

  /** Back to the previous environment: instant when it is kept, after a redeploy when it is not. */
  async switchBack(release: Release, note: string, evidence?: GateReport, actor: string = CONTROLLER): Promise<void> {
    const { store, driver, traffic, environments, log } = this.ctx;
    const { previous, candidate } = release;
    environments.cancelRetire(previous);
    const stored = await store.environment(previous);
    if (driver.describe(previous) === null) {
      if (stored === null)
        throw new GuardgateError('invalid_state', `the ${previous} environment is gone and was never recorded`);
      await environments.bringUp(stored.spec);
    }
    await traffic.switchTo(previous, { force: true });
    await store.transition(release.id, 'rolled_back', {
      note,
      actor,
      active: previous,
      ...(evidence ? { evidence } : {}),
    });
    if (stored !== null) await store.saveEnvironment(stored.spec);
    log.warn({ release: release.version, to: previous }, `rolled back: ${note}`);
    await environments.teardownStandby(candidate);
    this.progress = null;
  }

  /** Record `release` as aborted; traffic goes back first if a half-done switch moved it; the candidate is torn down. */
  async finishAbort(release: Release, note: string, actor: string = CONTROLLER): Promise<void> {
    const { store, traffic, environments, log } = this.ctx;
    await traffic.mirror?.setMirror(0);
    // A switch that failed half-way may have moved traffic: it goes back before the candidate is torn down.
    if (traffic.active === release.candidate)
      await traffic
        .switchTo(release.previous, { force: true })
        .catch((error: unknown) => log.error({ err: error }, 'switching back after a failed switch failed'));
    await store.transition(release.id, 'aborted', { note, actor });
    log.warn({ release: release.version }, `release aborted: ${note}`);
    await environments
      .teardownStandby(release.candidate)
      .catch((error: unknown) => log.error({ err: error }, 'teardown failed'));
    this.progress = null;
  }
}
