// What every gate reports: passed or not (or inconclusive), a one-line summary, its sample count and evidence.

/** Every gate a release can run. */
export type GateName = 'functional' | 'load' | 'shadow' | 'canary' | 'watch';

/** What an inconclusive gate means: a failure (the default), a pass (recorded as such), or an operator's call. */
export type OnInconclusive = 'fail' | 'pass' | 'wait';

/** The outcome the controller acts on. Pure. */
export function gateOutcome(report: GateReport, onInconclusive: OnInconclusive): 'passed' | 'failed' | 'wait' {
  if (report.inconclusive) return onInconclusive === 'pass' ? 'passed' : onInconclusive === 'wait' ? 'wait' : 'failed';
  return report.passed ? 'passed' : 'failed';
}

/** A gate that could not run to its end (an error, its deadline): failed, with the error as evidence. */
export function brokenGate(gate: GateName, error: unknown, startedAt: string): GateReport<{ error: string }> {
  const message = (error as Error)?.message ?? String(error);
  return {
    gate,
    passed: false,
    error: message,
    summary: `the gate could not run: ${message}`,
    evidence: { error: message },
    samples: 0,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}

/** A gate's result: passed or not, on how many samples, a summary, and its evidence. */
export interface GateReport<Evidence = unknown> {
  gate: GateName;
  /** Judged and met. Never true without evidence: an inconclusive gate has not passed. */
  passed: boolean;
  /** Too few samples to judge (fewer than the gate's minimum): what that means is the spec's onInconclusive. */
  inconclusive?: boolean;
  /** Set when the gate could not run to its end (an error, its deadline): not judged, whatever `passed` says. */
  error?: string;
  /** How many samples the judgement rests on (verdicts compared, requests watched, cases run). */
  samples?: number;
  summary: string;
  evidence: Evidence;
  startedAt: string;
  finishedAt: string;
}
