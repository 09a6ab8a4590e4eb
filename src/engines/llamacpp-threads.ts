// The CPU threads a llama.cpp sequence gets (with 4 threads on 2 cores a tiny model took 64 s for 50 tokens;
// with 1, 30 ms for 20): what was asked, else the cores shared among the concurrent verdicts, never more than the cores.
import { availableParallelism } from 'node:os';

/** The threads a sequence gets: what the caller asked, else the cores shared among the sequences; never more than the cores. */
export const threadsFor = (asked: number | undefined, concurrency: number, cores = availableParallelism()): number =>
  Math.max(1, Math.min(asked ?? Math.floor(cores / concurrency), cores));

