// What an instance's process spends in CPU, read from its /metrics (`process_cpu_seconds_total`). Divided by the
// requests a load sent it, it is what a request costs the process: unlike latency and throughput, a busy machine
// hardly changes it, so it tells a freshly started process (its code not yet compiled to speed: seen at two to four
// times the CPU per request of a warm one for its first few thousand requests beside eight busy loops) from one at
// its pace.
import { request, type Dispatcher } from 'undici';

/** The process's CPU seconds in a Prometheus text exposition; undefined when it has none. Pure. */
export function parseCpuSeconds(metrics: string): number | undefined {
  const match = /^process_cpu_seconds_total (\S+)$/m.exec(metrics);
  const seconds = match === null ? Number.NaN : Number(match[1]);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** CPU milliseconds per request between two readings; undefined without both, or without a request between. Pure. */
export function cpuMsPerRequest(
  before: number | undefined,
  after: number | undefined,
  requests: number,
): number | undefined {
  if (before === undefined || after === undefined || requests <= 0 || after < before) return undefined;
  return (1000 * (after - before)) / requests;
}

/** How a load gate reads an instance's CPU seconds (its /metrics); undefined when it cannot. */
export type CpuReader = (endpoint: string) => Promise<number | undefined>;

/**
 * `read`, but an endpoint that could not be read once is not asked again: a /metrics that times out costs one
 * timeout per side, not two per slice of the gate.
 */
export function untilUnread(read: CpuReader): CpuReader {
  const unread = new Set<string>();
  return async (endpoint) => {
    if (unread.has(endpoint)) return undefined;
    const seconds = await read(endpoint);
    if (seconds === undefined) unread.add(endpoint);
    return seconds;
  };
}

/** How long a reading may take before the caller goes on without it. */
const READ_TIMEOUT_MS = 2_000;

/**
 * Reads an instance's CPU seconds from `endpoint`/metrics; undefined when it cannot be read (no metrics scope,
 * not a guardgate instance, too slow): the caller goes on without it.
 */
export async function readCpuSeconds(
  endpoint: string,
  options: { headers?: Record<string, string>; dispatcher?: Dispatcher; signal?: AbortSignal },
): Promise<number | undefined> {
  const signal =
    options.signal === undefined
      ? AbortSignal.timeout(READ_TIMEOUT_MS)
      : AbortSignal.any([options.signal, AbortSignal.timeout(READ_TIMEOUT_MS)]);
  try {
    const response = await request(`${endpoint.replace(/\/$/, '')}/metrics`, {
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      signal,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return undefined;
    }
    return parseCpuSeconds(await response.body.text());
  } catch {
    return undefined;
  }
}
