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

/** Answered requests of the routes that judge (what warms an instance's code up): their 2xx counts. */
const JUDGED =
  /^http_request_duration_seconds_count\{(?=[^}]*route="(?:\/predict|\/v1\/moderations)")(?=[^}]*status_code="2\d\d")[^}]*\} (\S+)$/gm;

/**
 * How many requests the process has judged (POST /predict and /v1/moderations answered with a verdict) since it
 * started, in a Prometheus text exposition; undefined when it has no such figure. Pure.
 */
export function parseServedRequests(metrics: string): number | undefined {
  let served: number | undefined;
  for (const match of metrics.matchAll(JUDGED)) {
    const count = Number(match[1]);
    if (Number.isFinite(count)) served = (served ?? 0) + count;
  }
  return served;
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

/** Where and how an instance's /metrics is read. */
export interface MetricsReadOptions {
  headers?: Record<string, string>;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
}

/** An instance's /metrics text; undefined when it cannot be read (no metrics scope, not a guardgate instance, too slow). */
async function readMetrics(endpoint: string, options: MetricsReadOptions): Promise<string | undefined> {
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
    return await response.body.text();
  } catch {
    return undefined;
  }
}

/** Reads an instance's CPU seconds from `endpoint`/metrics; undefined when it cannot be read: the caller goes on without it. */
export async function readCpuSeconds(endpoint: string, options: MetricsReadOptions): Promise<number | undefined> {
  const metrics = await readMetrics(endpoint, options);
  return metrics === undefined ? undefined : parseCpuSeconds(metrics);
}

/** Reads how many judged requests an instance has answered, from `endpoint`/metrics; undefined when it cannot. */
export async function readServedRequests(endpoint: string, options: MetricsReadOptions): Promise<number | undefined> {
  const metrics = await readMetrics(endpoint, options);
  return metrics === undefined ? undefined : parseServedRequests(metrics);
}
