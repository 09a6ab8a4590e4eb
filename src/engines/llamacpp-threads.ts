// The CPU threads a llama.cpp sequence gets (with 4 threads on 2 cores a tiny model took 64 s for 50 tokens;
// with 1, 30 ms for 20): what was asked, else the cores shared among the concurrent verdicts, never more than the
// cores. In a container the cores are its CPU limit, not the machine's (Node 20 sees only the machine's).
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** The CPU limit of this process's cgroup (v2 cpu.max, v1 cfs quota), rounded up; undefined without one. */
export function cgroupCpus(
  read: (path: string) => string | undefined = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 !== undefined && v2[0] !== 'max' && Number(v2[0]) > 0 && Number(v2[1]) > 0)
    return Math.max(1, Math.ceil(Number(v2[0]) / Number(v2[1])));
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  return quota > 0 && period > 0 ? Math.max(1, Math.ceil(quota / period)) : undefined;
}

/** The cores this process may use: the container's limit when there is one, else the machine's. */
export const usableCores = (): number => Math.min(availableParallelism(), cgroupCpus() ?? Infinity);

/** The threads a sequence gets: what the caller asked, else the cores shared among the sequences; never more than the cores. */
export const threadsFor = (asked: number | undefined, concurrency: number, cores = usableCores()): number =>
  Math.max(1, Math.min(asked ?? Math.floor(cores / concurrency), cores));
