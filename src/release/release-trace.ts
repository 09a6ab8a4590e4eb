// A release as a trace: a root span for the release, a span per state it went through and one per gate, with the
// times the store recorded. Built from the durable transitions, not from memory: each transition that leaves a
// state emits that state's span (and its gates'), the end of the release emits the root, and a controller that
// restarts carries on the same trace (its ids derive from the release), never emitting a span twice.
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { GateReport } from '../gates/report.js';
import type { ReleaseState } from './states.js';
import { TERMINAL } from './states.js';
import type { StoreListener } from './store-listeners.js';
import type { ControllerStore, Release, Transition } from './store.js';
import { remoteParent, SpanStatusCode, under, type Tracing } from '../shared/tracing.js';

/**
 * The release's trace id and root span id: the same from any controller that holds the key (the deployment's
 * router secret), for the same release; not guessable by anyone else, who could otherwise hang spans under it. Pure.
 */
export function releaseTraceIds(
  release: Pick<Release, 'id' | 'createdAt'>,
  key: string,
): { traceId: string; spanId: string } {
  const digest = createHmac('sha256', key).update(`guardgate-release:${release.id}:${release.createdAt}`).digest('hex');
  return { traceId: digest.slice(0, 32), spanId: digest.slice(32, 48) };
}

/** The span of one state of a release, from its transitions. */
export interface StateSpan {
  state: ReleaseState;
  start: string;
  end: string;
  gates: GateReport[];
  notes: string[];
}

const isGateReport = (value: unknown): value is GateReport =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as GateReport).gate === 'string' &&
  typeof (value as GateReport).startedAt === 'string' &&
  typeof (value as GateReport).finishedAt === 'string';

/**
 * The state the last transition left, from the release's transitions in order: from the first transition into
 * it (or the release's creation) to the last one, with the gates reported while in it. Null when the last
 * transition did not change state (a gate reported within `validating`). Pure.
 */
export function stateLeft(release: Pick<Release, 'createdAt'>, transitions: readonly Transition[]): StateSpan | null {
  const last = transitions.at(-1);
  if (last === undefined || last.from === null || last.from === last.to) return null;
  // Back over the transitions within the state (a gate reported in validating) to the one that entered it.
  let entered = transitions.length - 2;
  while (entered >= 0 && transitions[entered]!.from === last.from && transitions[entered]!.to === last.from) entered--;
  const entering = entered >= 0 && transitions[entered]!.to === last.from ? transitions[entered] : undefined;
  const within = transitions.slice(entered + 1, -1);
  const start = entering?.at ?? release.createdAt;
  // The evidence of the leaving transition belongs to the state it ends (the watch gate's report, say).
  const gates = [...within, last].map((t) => t.evidence).filter(isGateReport);
  return {
    state: last.from,
    start,
    end: last.at,
    gates,
    notes: within.map((t) => t.note ?? '').filter((n) => n !== ''),
  };
}

/** The transitions up to the one that made `release` what it is (later ones may be stored already). Pure. */
export function upTo(
  release: Pick<Release, 'state' | 'updatedAt'>,
  transitions: readonly Transition[],
): readonly Transition[] {
  const at = transitions.findLastIndex((t) => t.to === release.state && t.at === release.updatedAt);
  return at < 0 ? transitions : transitions.slice(0, at + 1);
}

/** Makes a release one trace: a root span, a span per state and per gate, as the store records them. */
export class ReleaseTracer implements StoreListener {
  /** One release's spans at a time, in the order of its transitions. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly tracing: Tracing,
    private readonly store: Pick<ControllerStore, 'transitions'>,
    private readonly log: Logger,
    private readonly key: string,
  ) {}

  created(release: Release): void {
    this.log.info({ release: release.id, trace_id: releaseTraceIds(release, this.key).traceId }, 'release trace');
  }

  transitioned(release: Release): void {
    this.chain = this.chain
      .then(() => this.emit(release))
      .catch((error: unknown) => this.log.warn({ err: error, release: release.id }, 'release spans not emitted'));
  }

  private async emit(release: Release): Promise<void> {
    const transitions = upTo(release, await this.store.transitions(release.id));
    const { traceId, spanId } = releaseTraceIds(release, this.key);
    const left = stateLeft(release, transitions);
    if (left !== null) {
      const span = this.tracing.start(`release.${left.state}`, {
        parent: remoteParent(traceId, spanId),
        startTime: new Date(left.start),
        attributes: { 'guardgate.release.state': left.state, 'guardgate.release.id': release.id },
      });
      for (const gate of left.gates) {
        const gateSpan = this.tracing.start(`gate.${gate.gate}`, {
          parent: under(span),
          startTime: new Date(gate.startedAt),
          attributes: {
            'guardgate.gate': gate.gate,
            'guardgate.gate.passed': gate.passed,
            'guardgate.gate.inconclusive': gate.inconclusive === true,
            'guardgate.gate.samples': gate.samples ?? 0,
            'guardgate.gate.summary': gate.summary.slice(0, 500),
          },
        });
        if (!gate.passed)
          gateSpan.setStatus({
            code: SpanStatusCode.ERROR,
            message: gate.error ?? (gate.inconclusive ? 'inconclusive' : 'failed'),
          });
        gateSpan.end(new Date(gate.finishedAt));
      }
      span.end(new Date(left.end));
    }
    if (TERMINAL.has(release.state)) {
      const root = this.tracing.start(`release ${release.version}`, {
        traceId,
        spanId,
        startTime: new Date(release.createdAt),
        attributes: {
          'guardgate.release.id': release.id,
          'guardgate.release.version': release.version,
          'guardgate.release.state': release.state,
          'guardgate.release.candidate': release.candidate,
          'guardgate.release.previous': release.previous,
          'guardgate.release.forced': release.forced,
        },
      });
      if (release.state !== 'stable')
        root.setStatus({ code: SpanStatusCode.ERROR, message: release.note ?? release.state });
      root.end(new Date(transitions.at(-1)?.at ?? release.updatedAt));
    }
  }
}
