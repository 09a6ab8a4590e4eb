// A canary release's steps: the candidate serves a growing share of live traffic (the traffic's weights); at each
// step its error rate and p99 are compared with the stable version's over the same window, and its verdicts with
// the stable version's on the same live requests (each side's requests mirrored to the other by the router, or
// the live texts replayed to both sides where no router is in the path). A breach ends the steps at once; the
// controller takes the weight back to 0.
import { setTimeout as delay } from 'node:timers/promises';
import type { LatencyBuckets, RouterControl } from '../router/control.js';
import type { MirrorPair } from '../router/mirror.js';
import type { Color } from '../vocabulary/colors.js';
import type { TextMode } from '../store/audit/record.js';
import type { GateReport } from './report.js';
import { ShadowComparator, type ShadowEvidence, type ShadowSource } from './shadow.js';
import { p99FromBuckets } from './watch.js';

/** One step of a canary (the release spec's `canary.steps[i]`). */
export interface CanaryStep {
  weight: number;
  durationSeconds: number;
  minRequests: number;
  minSamples: number;
  pause: boolean;
}

/** What the canary requires of the candidate at every step (the release spec's `canary`). */
export interface CanaryRule {
  steps: CanaryStep[];
  stickyHeader?: string | undefined;
  mirrorFraction: number;
  maxErrorRateIncrease: number;
  maxP99Ratio: number;
  minAgreement: number;
  maxUnsafeToSafe: number;
  onInconclusive: 'fail' | 'pass';
}

/** One side's live figures over a step's window. */
export interface SideFigures {
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms: number | null;
  /** The requests the p99 is taken over: the step's second half (the first warms a new share up). */
  p99Requests: number;
}

/** A step's evidence: both sides' figures, the verdict comparison, and why it failed (if it did). */
export interface CanaryStepEvidence {
  step: number;
  weight: number;
  seconds: number;
  startedAt: string;
  candidate: SideFigures;
  stable: SideFigures;
  comparison: Pick<ShadowEvidence, 'samples' | 'agreement' | 'unsafeToSafe' | 'incomparable' | 'disagreements'> & {
    on: CanarySource['comparedOn'];
  };
  reasons: string[];
  inconclusive: boolean;
}

/** A p99 difference this small is noise, whatever the ratio. */
const P99_NOISE_MS = 5;
/**
 * Fewer requests than this on a side have no p99 worth judging: over 100 it is the slowest one, over 500 the
 * fifth slowest, so one pause of a fresh pod (its first compilations, a collection) is not read as a regression.
 */
export const P99_MIN_REQUESTS = 500;

/**
 * Judge a step's figures against the rule. Flips and errors are judged as they come (a breach ends the step at
 * once); agreement and p99 at the step's end (`final`), p99 only on P99_MIN_REQUESTS requests a side. Pure.
 */
export function judgeCanaryStep(
  rule: Omit<CanaryRule, 'steps'>,
  step: CanaryStep,
  candidate: SideFigures,
  stable: SideFigures,
  comparison: { samples: number; agreement: number; unsafeToSafe: number },
  final: boolean,
): { reasons: string[]; inconclusive: boolean } {
  const reasons: string[] = [];
  if (comparison.unsafeToSafe > rule.maxUnsafeToSafe)
    reasons.push(`${comparison.unsafeToSafe} Unsafe-to-Safe flips; at most ${rule.maxUnsafeToSafe} allowed`);
  if (candidate.requests >= step.minRequests) {
    const increase = candidate.errorRate - stable.errorRate;
    if (increase > rule.maxErrorRateIncrease)
      reasons.push(
        `error rate ${(100 * candidate.errorRate).toFixed(2)}% against the stable ${(100 * stable.errorRate).toFixed(2)}% (at most ${(100 * rule.maxErrorRateIncrease).toFixed(2)} points more)`,
      );
    if (
      final &&
      candidate.p99Requests >= P99_MIN_REQUESTS &&
      stable.p99Requests >= P99_MIN_REQUESTS &&
      candidate.p99Ms !== null &&
      stable.p99Ms !== null &&
      candidate.p99Ms > stable.p99Ms * rule.maxP99Ratio &&
      candidate.p99Ms - stable.p99Ms > P99_NOISE_MS
    )
      reasons.push(`p99 ${candidate.p99Ms} ms against the stable ${stable.p99Ms} ms (at most ${rule.maxP99Ratio}×)`);
  }
  if (final && comparison.samples >= step.minSamples && comparison.agreement < rule.minAgreement)
    reasons.push(
      `agreement ${(100 * comparison.agreement).toFixed(1)}% is under ${(100 * rule.minAgreement).toFixed(1)}%`,
    );
  const inconclusive = candidate.requests < step.minRequests || comparison.samples < step.minSamples;
  return { reasons, inconclusive };
}

/** Cumulative buckets counted since `before`. Pure. */
export function bucketsSince(now: LatencyBuckets, before: LatencyBuckets): LatencyBuckets {
  return now.map(([bound, count]) => [bound, count - (before.find(([b]) => b === bound)?.[1] ?? 0)]);
}

/** Both sides' cumulative counts (requests and errors) and latency buckets, read at one moment. */
export interface CanarySnapshot {
  candidate: { total: number; errors: number };
  stable: { total: number; errors: number };
  candidateBuckets: LatencyBuckets;
  stableBuckets: LatencyBuckets;
}

/** What the steps need: a way to set the candidate's share, both sides' live counters, and verdict pairs. */
export interface CanarySource {
  /** The candidate's percent of live traffic; resolves once the traffic has taken it. */
  setWeight(weight: number): Promise<void>;
  read(): Promise<CanarySnapshot>;
  /** Pairs of verdicts on the same live text: mirrored live requests (the router), or live texts replayed. */
  mirror: ShadowSource;
  /** Where the verdict pairs come from, as the evidence says. */
  comparedOn: 'mirrored live requests' | 'live texts replayed to both sides' | 'corpus replayed to both sides';
}

/** The router's counters: the candidate's requests served as the canary, the stable version's as the active. */
export function routerCanaryReader(
  metrics: Pick<RouterControl, 'traffic' | 'latencyBuckets'>,
  colors: { stable: Color; candidate: Color },
): () => Promise<CanarySnapshot> {
  return async () => {
    const [canary, active, candidateBuckets, stableBuckets] = await Promise.all([
      metrics.traffic('canary'),
      metrics.traffic('active'),
      metrics.latencyBuckets(colors.candidate),
      metrics.latencyBuckets(colors.stable),
    ]);
    return { candidate: canary[colors.candidate], stable: active[colors.stable], candidateBuckets, stableBuckets };
  };
}

/** How the steps report and wait. */
export interface CanaryHooks {
  /** A step is starting (its weight is set) or has news. */
  onProgress(step: number, detail: string, figures?: Record<string, number>): void;
  /** A step passed: recorded by the caller (a transition with its evidence). */
  onStepPassed(evidence: CanaryStepEvidence): Promise<void>;
  /** A step with `pause` passed: resolves once an operator promotes (false: aborted meanwhile). */
  waitForPromote(step: number): Promise<boolean>;
  /** While an operator has paused the canary, the step holds its weight and does not end. */
  paused(): boolean;
  textMode: TextMode;
}

const sideOf = (
  now: { total: number; errors: number },
  before: { total: number; errors: number },
  buckets: LatencyBuckets,
): SideFigures => {
  const requests = now.total - before.total;
  const errors = now.errors - before.errors;
  const p99Requests = buckets.at(-1)?.[1] ?? 0;
  return {
    requests,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    p99Ms: p99FromBuckets(buckets, p99Requests),
    p99Requests,
  };
};

/**
 * Run the steps: set each weight, judge the window, record it; stop at the first breach (or an inconclusive step
 * under onInconclusive fail). The weight is left where the last step put it: the caller switches or rolls back.
 */
export async function runCanary(
  rule: CanaryRule,
  colors: { stable: Color; candidate: Color },
  source: CanarySource,
  hooks: CanaryHooks,
  signal: AbortSignal,
): Promise<GateReport<{ steps: CanaryStepEvidence[] }>> {
  const startedAt = new Date().toISOString();
  const steps: CanaryStepEvidence[] = [];
  const finish = (passed: boolean, summary: string, inconclusive = false) => ({
    gate: 'canary' as const,
    passed,
    ...(inconclusive ? { inconclusive } : {}),
    samples: steps.reduce((n, s) => n + s.candidate.requests, 0),
    summary,
    evidence: { steps },
    startedAt,
    finishedAt: new Date().toISOString(),
  });
  await source.mirror.setMirror(rule.mirrorFraction);
  try {
    for (const [index, step] of rule.steps.entries()) {
      const number = index + 1;
      // Pairs oriented stable → candidate, whichever side served the request.
      const comparator = new ShadowComparator(
        { minAgreement: rule.minAgreement, maxUnsafeToSafe: rule.maxUnsafeToSafe, minSamples: step.minSamples },
        hooks.textMode,
      );
      const unsubscribe = source.mirror.onMirrorPair((pair: MirrorPair) => {
        const sides = [pair.active, pair.standby];
        const stable = sides.find((s) => s.color === colors.stable);
        const candidate = sides.find((s) => s.color === colors.candidate);
        if (stable !== undefined && candidate !== undefined)
          comparator.add({ ...pair, active: stable, standby: candidate });
      });
      try {
        await source.setWeight(step.weight);
        hooks.onProgress(number, `step ${number}/${rule.steps.length}: ${step.weight}% of live traffic`);
        const before = await source.read();
        // Latency is read from the step's second half: a new share of traffic warms up in the first.
        let latencyFrom = before;
        const started = Date.now();
        const minimumMs = step.durationSeconds * 1000;
        const deadline = started + 10 * minimumMs;
        let evidence: CanaryStepEvidence;
        for (;;) {
          await delay(500, undefined, { signal }).catch(() => undefined);
          const now = await source.read();
          if (latencyFrom === before && Date.now() - started >= minimumMs / 2) latencyFrom = now;
          const candidate = sideOf(
            now.candidate,
            before.candidate,
            bucketsSince(now.candidateBuckets, latencyFrom.candidateBuckets),
          );
          const stable = sideOf(now.stable, before.stable, bucketsSince(now.stableBuckets, latencyFrom.stableBuckets));
          const compared = comparator.report();
          const lasted = Date.now() - started >= minimumMs;
          const timedOut = Date.now() > deadline;
          const final = !hooks.paused() && (lasted || timedOut);
          const judged = judgeCanaryStep(rule, step, candidate, stable, compared, final);
          evidence = {
            step: number,
            weight: step.weight,
            seconds: Math.round((Date.now() - started) / 1000),
            startedAt: new Date(started).toISOString(),
            candidate,
            stable,
            comparison: {
              on: source.comparedOn,
              samples: compared.samples,
              agreement: compared.agreement,
              unsafeToSafe: compared.unsafeToSafe,
              incomparable: compared.incomparable,
              disagreements: compared.disagreements,
            },
            reasons: judged.reasons,
            inconclusive: judged.inconclusive,
          };
          hooks.onProgress(
            number,
            `step ${number}/${rule.steps.length} at ${step.weight}%: ${candidate.requests} requests, ${compared.samples} verdicts compared${hooks.paused() ? ' (paused)' : ''}`,
            { requests: candidate.requests, samples: compared.samples, agreement: compared.agreement },
          );
          if (signal.aborted) {
            steps.push(evidence);
            return finish(false, `stopped at step ${number} (${step.weight}%)`);
          }
          // A breach ends the step at once; a pause holds it; otherwise it ends once it has lasted and has its evidence.
          if (judged.reasons.length > 0) {
            steps.push(evidence);
            return finish(false, `step ${number} (${step.weight}%) failed: ${judged.reasons.join('; ')}`);
          }
          if (!final) continue;
          if (!judged.inconclusive) break;
          if (timedOut) {
            steps.push(evidence);
            if (rule.onInconclusive === 'pass') break;
            return finish(
              false,
              `step ${number} (${step.weight}%) inconclusive: ${candidate.requests} of ${step.minRequests} requests and ${compared.samples} of ${step.minSamples} verdicts compared in ${evidence.seconds} s`,
              true,
            );
          }
        }
        if (steps.at(-1) !== evidence) steps.push(evidence);
        await hooks.onStepPassed(evidence);
        if (step.pause && !(await hooks.waitForPromote(number)))
          return finish(false, `stopped while paused after step ${number}`);
      } finally {
        unsubscribe();
      }
    }
  } finally {
    await source.mirror.setMirror(0);
  }
  return finish(
    true,
    `${rule.steps.length} steps up to ${rule.steps.at(-1)!.weight}%: ${steps.map((s) => `${s.weight}% ${s.candidate.requests} requests, agreement ${(100 * s.comparison.agreement).toFixed(1)}%`).join('; ')}`,
  );
}
