// What every gate reports: passed or not, a one-line summary, and its evidence.

export type GateName = 'functional' | 'load' | 'shadow' | 'watch';

export interface GateReport<Evidence = unknown> {
  gate: GateName;
  passed: boolean;
  summary: string;
  evidence: Evidence;
  startedAt: string;
  finishedAt: string;
}
