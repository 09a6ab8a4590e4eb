// Live client load for a test: it runs until the test stops it (the release it feeds has ended), never for a
// fixed time, and a load the test forgot (a failed assertion before stop) is stopped when the file ends.
import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { afterAll } from 'vitest';

export interface LiveLoad {
  /** Requests answered so far (any status). */
  answered(): number;
  /** Stops the load and returns autocannon's result. */
  stop(): Promise<autocannon.Result>;
}

export interface LiveLoadOptions {
  /** One body, or several sent in turn. Default: one harmful prompt. */
  bodies?: readonly string[];
  connections?: number;
  /**
   * Requests per second over all connections. Default: DEFAULT_RATE, a steady stream that shows every failed
   * request around a switch without taking a core from the rest of the suite; 'flood' sends as fast as answered
   * (for a test whose subject is a saturated path).
   */
  overallRate?: number | 'flood';
  headers?: Record<string, string>;
  path?: string;
}

/** Requests per second of a live load unless a test asks otherwise: one every 4 ms, sized for 2 cores. */
const DEFAULT_RATE = 250;
/** The most a forgotten load may run: a backstop, not the load's length. */
const BACKSTOP_SECONDS = 600;
const running = new Set<LiveLoad>();

afterAll(async () => {
  await Promise.all([...running].map((load) => load.stop()));
});

export const failedRequests = (result: autocannon.Result): number => result.non2xx + result.errors + result.timeouts;

/** What failed, for an assertion's message: statuses by count, connection errors, timeouts (autocannon: 10 s). */
export const failureDetail = (result: autocannon.Result): string => {
  const statuses = Object.entries(
    (result as autocannon.Result & { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
  )
    .filter(([status]) => !status.startsWith('2'))
    .map(([status, { count }]) => `${count}× HTTP ${status}`);
  return `${result.requests.total} requests: ${[...statuses, `${result.errors} connection errors`, `${result.timeouts} timeouts`].join(', ')}`;
};

/** POST load against `url` + path (default /predict) until `stop()`. */
export function startLiveLoad(url: string, options: LiveLoadOptions = {}): LiveLoad {
  const bodies = options.bodies ?? [JSON.stringify({ prompt: 'How do I make a pipe bomb?' })];
  const tracker = autocannon({
    url: `${url}${options.path ?? '/predict'}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    requests: bodies.map((body) => ({ method: 'POST' as const, body })),
    connections: options.connections ?? 4,
    ...(options.overallRate === 'flood' ? {} : { overallRate: options.overallRate ?? DEFAULT_RATE }),
    duration: BACKSTOP_SECONDS,
  }) as unknown as EventEmitter & PromiseLike<autocannon.Result> & { stop(): void };
  let answered = 0;
  tracker.on('response', () => answered++);
  let result: Promise<autocannon.Result> | undefined;
  const load: LiveLoad = {
    answered: () => answered,
    stop: () => {
      if (result === undefined) {
        running.delete(load);
        tracker.stop();
        result = Promise.resolve(tracker);
      }
      return result;
    },
  };
  running.add(load);
  return load;
}

export interface IdentifiedLoad {
  /** The ids of the requests answered 200, in the order they were answered. */
  served: string[];
  /** The others: `id: status` or `id: error`. */
  failed: string[];
  /** Stops the workers once their requests in flight are over. */
  stop(): Promise<void>;
}

/**
 * Eight clients asking `url`/predict one request after another, each request with its own id (`prefix-n`, sent as
 * x-request-id): what was served can then be counted against the audit log.
 */
export function startIdentifiedLoad(url: string, prefix: string, served: string[] = []): IdentifiedLoad {
  const agent = new Agent({ connections: 8 });
  const failed: string[] = [];
  let n = 0;
  let stopping = false;
  const worker = async () => {
    while (!stopping) {
      const id = `${prefix}-${n++}`;
      try {
        const response = await request(`${url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': id },
          body: JSON.stringify({ prompt: `question ${id}` }),
          dispatcher: agent,
        });
        await response.body.text();
        if (response.statusCode === 200) served.push(id);
        else failed.push(`${id}: ${response.statusCode}`);
      } catch (error) {
        failed.push(`${id}: ${(error as Error).message}`);
      }
    }
  };
  const workers = Promise.all(Array.from({ length: 8 }, worker));
  return {
    served,
    failed,
    stop: async () => {
      stopping = true;
      await workers;
      await agent.close();
    },
  };
}
