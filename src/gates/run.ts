// The pre-switch gates (functional, load, shadow) as one call, for the controller during a release and for
// the gate endpoint (`POST /admin/gates/run`, what Argo Rollouts' web metric provider calls): each gate runs
// under a deadline, and an error inside it becomes a failed report with the error as evidence.
import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { Color } from '../vocabulary/colors.js';
import type { AuditStore } from '../store/audit/store.js';
import type { TextMode } from '../store/audit/record.js';
import type { ReleaseSpec } from '../release/spec.js';
import { loadSuite, type SuiteRef } from './suite.js';
import type { Endpoint } from '../release/traffic.js';
import { runFunctionalGate } from './functional.js';
import { readCpuSeconds, readServedRequests } from './instance-cpu.js';
import { LOAD_CORPUS, runLoadGate, WARM_UP_EXTRA_SECONDS, WARM_UP_REQUESTS, warmUpSeconds } from './load.js';
import { auditedTexts, replayTo, type ReplayItem } from './replay.js';
import { brokenGate, type GateName, type GateReport } from './report.js';
import { runShadowGate, type ShadowSource } from './shadow.js';

/** The gates that judge a candidate before it takes traffic. */
export type PreSwitchGate = Exclude<GateName, 'watch' | 'canary'>;
/** The pre-switch gates, in the order a release runs them. */
export const PRE_SWITCH_GATES: readonly PreSwitchGate[] = ['functional', 'load', 'shadow'];

/** A release spec's gates section: what each gate needs and how it judges. */
export type GateSettings = ReleaseSpec['gates'];

/** What the gates are aimed at. */
export interface GateTargets {
  /** Live traffic (the shadow gate's replay asks it as the active side). */
  live: Endpoint;
  /** The candidate as the gates reach it (the router's preview, the preview Service). */
  preview: Endpoint;
  /** One instance of each side, asked directly by the load gate (the router's cost is not the candidate's). */
  activeInstance: string;
  candidateInstance: string;
  colors: { active: Color; candidate: Color };
  /** Whether answers must come from those colors (a release: yes; the gate endpoint, comparing any two endpoints: no). */
  checkSides: boolean;
}

/** What a gate run is given besides its targets: credentials, the audit policy, sources of evidence, progress. */
export interface GateContext {
  /** Headers every gate request carries: a credential the instances accept, and the evidence mark. */
  credentials: Record<string, string>;
  /** What of users' text the evidence may keep: the audit log's policy. */
  auditText: TextMode;
  /** Live traffic mirrored to the candidate, where the traffic can (the router). */
  mirror?: ShadowSource | undefined;
  /** The audit log, for the shadow gate's replay of the last audited texts. */
  audit?: Pick<AuditStore, 'query'> | undefined;
  /** Told as a gate goes: which, and how far (for progress lines). */
  onProgress?: (gate: PreSwitchGate, detail: string, figures?: Record<string, number>) => void;
  /** Certificates (PEM) gate requests trust besides the system's: the private CA of `up --tls-ca`; read at each run. */
  trust?: (() => string[]) | undefined;
  log: Logger;
}

/** /predict bodies of an audit suite's cases. */
export const suiteBodies = (suite?: SuiteRef): string[] =>
  loadSuite(suite).cases.map((c) =>
    JSON.stringify(c.response ? { prompt: c.prompt, response: c.response } : { prompt: c.prompt }),
  );

/** The corpus the shadow gate replays after audited texts: the named suite, or the shipped suite and the benign/harmful mix. */
export const replayCorpus = (corpus: SuiteRef | undefined): ReplayItem[] =>
  (corpus === undefined ? [...suiteBodies(), ...LOAD_CORPUS] : suiteBodies(corpus)).map((body) => ({
    body,
    origin: 'corpus',
  }));

/** The most a gate may take before it is failed for want of an answer (and stopped). Pure. */
export function gateDeadlineMs(gate: PreSwitchGate, settings: GateSettings): number {
  if (gate === 'functional') return 600_000;
  if (gate === 'load') {
    // Both sides warmed up, the active side's CPU read again for a second, the candidate longer at most by the
    // extra seconds, then two rounds of both sides.
    const { durationSeconds } = settings.load;
    return (2 * warmUpSeconds(durationSeconds) + 1 + WARM_UP_EXTRA_SECONDS + 4 * durationSeconds + 60) * 1000;
  }
  return (settings.shadow.durationSeconds + 60) * 1000;
}

/** Connections of one gate run, trusting the system's CAs and the given certificates. */
export function gateDispatcher(trust: (() => string[]) | undefined): Agent {
  const trusted = trust?.() ?? [];
  return new Agent(trusted.length === 0 ? {} : { connect: { ca: [...rootCertificates, ...trusted] } });
}

/** One gate, under its deadline: an error inside it, or no answer in time, fails it with the error as evidence. */
export async function runGate(
  gate: PreSwitchGate,
  settings: GateSettings,
  targets: GateTargets,
  context: GateContext,
  signal: AbortSignal,
): Promise<GateReport> {
  const startedAt = new Date().toISOString();
  const deadlineMs = gateDeadlineMs(gate, settings);
  // The gate's own stop: the caller's signal or the deadline, whichever comes first; the gate stops its work on it.
  const stop = new AbortController();
  setMaxListeners(100, stop.signal); // each replay request and load slice listens on it
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  const timeout = new AbortController();
  // Connections of this gate run only: a kept-alive connection from an earlier run, pinned by a Service's proxy
  // to a pod of what was then the preview (now the live color), must never answer for this candidate.
  const dispatcher = gateDispatcher(context.trust);
  try {
    return await Promise.race([
      gateBody(gate, settings, targets, context, stop.signal, dispatcher),
      delay(deadlineMs, undefined, { signal: timeout.signal }).then(() => {
        throw new Error(`no result within ${deadlineMs / 1000} s`);
      }),
    ]);
  } catch (error) {
    context.log.error({ err: error, gate }, 'gate could not run');
    return brokenGate(gate, error, startedAt);
  } finally {
    stop.abort();
    timeout.abort();
    signal.removeEventListener('abort', abort);
    void dispatcher.destroy().catch(() => undefined);
  }
}

async function gateBody(
  gate: PreSwitchGate,
  settings: GateSettings,
  targets: GateTargets,
  context: GateContext,
  signal: AbortSignal,
  dispatcher: Dispatcher,
): Promise<GateReport> {
  const { credentials } = context;
  const progress = (detail: string, figures?: Record<string, number>) => context.onProgress?.(gate, detail, figures);
  const started = Date.now();
  switch (gate) {
    case 'functional': {
      const suite = loadSuite(settings.functional.suite);
      return runFunctionalGate(targets.preview.url, suite, {
        minPassRate: settings.functional.minPassRate,
        headers: { ...targets.preview.headers, ...credentials },
        ...(targets.checkSides ? { expectColor: targets.colors.candidate } : {}),
        dispatcher,
        onProgress: (done, total) => progress(`${done}/${total} cases`, { done, total }),
        signal,
      });
    }
    case 'load': {
      const load = settings.load;
      if (targets.activeInstance === '' || targets.candidateInstance === '')
        throw new Error('no instance of each side to measure');
      // A varied corpus (the audit suite and a benign/harmful mix), so that no cache can stand in for the engine.
      const bodies = [...LOAD_CORPUS, ...suiteBodies(settings.functional.suite)];
      progress('warming both sides up before measuring');
      return runLoadGate(
        targets.activeInstance,
        targets.candidateInstance,
        {
          durationSeconds: load.durationSeconds,
          connections: load.connections,
          headers: credentials,
          bodies,
          signal,
          // Each side's CPU per request, from its /metrics: the candidate is warmed up until it costs what the active does.
          readCpu: (endpoint) => readCpuSeconds(endpoint, { headers: credentials, dispatcher, signal }),
          // How many requests the active side has answered: one at its pace is not warmed up again.
          readServed: (endpoint) => readServedRequests(endpoint, { headers: credentials, dispatcher, signal }),
          onProgress: (p) =>
            progress(
              p.round === 0
                ? `warming the candidate up: ${p.requests} of ${WARM_UP_REQUESTS} requests in ${p.seconds} s`
                : `${p.round > 1 ? 'measuring again: ' : ''}${p.phase} ${p.seconds}/${load.durationSeconds} s, ${p.requests} requests, ${p.failed} failed`,
              { seconds: p.seconds, requests: p.requests, failed: p.failed },
            ),
        },
        load.tolerance,
      );
    }
    case 'shadow': {
      const shadow = settings.shadow;
      let replay;
      if (shadow.replay !== false) {
        // Real traffic first: the last audited texts, when the audit keeps texts and can be read.
        const audited =
          shadow.replay.audit > 0 && context.audit !== undefined && context.auditText !== 'none'
            ? await auditedTexts(context.audit, shadow.replay.audit).catch((error: unknown) => {
                context.log.warn(
                  { err: error },
                  'shadow replay: the audit log could not be read; replaying the corpus only',
                );
                return [];
              })
            : [];
        replay = replayTo(
          targets.live,
          targets.preview,
          [...audited, ...replayCorpus(shadow.replay.corpus)],
          credentials,
          targets.colors,
          dispatcher,
        );
      }
      return runShadowGate(
        context.mirror,
        {
          fraction: shadow.fraction,
          durationSeconds: shadow.durationSeconds,
          targetSamples: shadow.samples,
          onProgress: (n, agreement) => {
            const left = Math.max(0, Math.ceil(shadow.durationSeconds - (Date.now() - started) / 1000));
            // Past the mirroring window, texts are being replayed to both colors.
            const phase =
              left > 0
                ? `mirroring live traffic, at most ${left} s left${n === 0 ? ' (none yet; texts are replayed to both colors after)' : ''}`
                : 'replaying texts to both colors';
            progress(
              `${n}/${shadow.samples} verdicts compared${agreement === null ? '' : `, ${(100 * agreement).toFixed(1)}% agree`}, ${phase}`,
              { samples: n, ...(agreement === null ? {} : { agreement }) },
            );
          },
          replay,
        },
        { minAgreement: shadow.minAgreement, maxUnsafeToSafe: shadow.maxUnsafeToSafe, minSamples: shadow.minSamples },
        signal,
        context.auditText,
        targets.checkSides ? targets.colors : undefined,
      );
    }
  }
}
