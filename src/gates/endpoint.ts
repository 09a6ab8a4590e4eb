// POST /admin/gates/run: the pre-switch gates on demand, against endpoints this deployment knows. Argo
// Rollouts' web metric provider calls it from an AnalysisTemplate; it counts any non-2xx answer as an
// *error* (retried, then the analysis errs), not as a failed measurement. So: 200 with
// `{ "pass": bool, "gates": [...] }` whenever the gates could judge the candidate, and 5xx only when they
// could not (an endpoint does not answer, a gate broke), so that `successCondition: result.pass == true`
// means what it says. Mounted inside an admin plugin: the caller has the admin scope.
import { setMaxListeners } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { request } from 'undici';
import { z } from 'zod';
import { GuardgateError } from '../vocabulary/errors.js';
import type { TextMode } from '../store/audit/record.js';
import { gateOutcome, type GateReport } from './report.js';
import { gateDispatcher, PRE_SWITCH_GATES, runGate, type GateTargets, type PreSwitchGate } from './run.js';
import { gatesSchema } from '../release/spec.js';
import type { Endpoint } from '../release/traffic.js';

/** Where the gate endpoint answers (Argo Rollouts' web metric calls it). */
export const GATES_RUN_PATH = '/admin/gates/run';

const endpointField = z.union([z.enum(['live', 'preview']), z.url({ protocol: /^https?$/ })]);

/** A gate run request: candidate, baseline, which gates, and their settings. */
export const gateRunSchema = z
  .object({
    /** The candidate: `preview` (this deployment's preview), `live`, or the URL of one of its endpoints. */
    candidate: endpointField.default('preview'),
    /** What the candidate is compared with (load, shadow): `live` by default. */
    baseline: endpointField.default('live'),
    gates: z
      .array(z.enum(PRE_SWITCH_GATES as [PreSwitchGate, ...PreSwitchGate[]]))
      .min(1)
      .max(PRE_SWITCH_GATES.length),
    /** The release spec's `gates` section (defaults as in a spec); suite and corpus files are the server's own. */
    settings: gatesSchema,
  })
  .strict();

/** A parsed gate run request. */
export type GateRunRequest = z.output<typeof gateRunSchema>;

/** The gate endpoint's answer: pass or not, and every gate's report. */
export interface GateRunAnswer {
  pass: boolean;
  candidate: string;
  baseline: string;
  gates: GateReport[];
}

/** What the gate endpoint may reach and with which credentials. */
export interface GateEndpointOptions {
  /** The endpoints named `live` and `preview`, as they are now. */
  endpoints(): { live: Endpoint; preview: Endpoint };
  /**
   * One instance behind each name, for the load gate, where the two names share an address told apart by a
   * header (the router, a Gateway): load through them would measure the live version twice.
   */
  instanceOf?(name: 'live' | 'preview'): string | undefined;
  /** Every URL a caller may name (besides the two names): the deployment's own services and instances. */
  allowed(): readonly string[];
  /** Headers gate requests carry: a credential the instances accept and the evidence mark. */
  /** Read at each call: a credential rotation changes them. */
  credentials: () => Record<string, string>;
  auditText: TextMode;
  /** Certificates the gates trust besides the system's (the private CA of the public listener). */
  trust?: (() => string[]) | undefined;
  log: Logger;
}

const origin = (url: string): string => new URL(url).origin;

/** The endpoint a request names, resolved against what this deployment allows; 403 for any other. */
function resolveEndpoint(named: string, options: GateEndpointOptions): Endpoint {
  const known = options.endpoints();
  if (named === 'live' || named === 'preview') return known[named];
  const allowed = new Set([known.live.url, known.preview.url, ...options.allowed()].map(origin));
  if (!allowed.has(origin(named))) {
    throw new GuardgateError(
      'endpoint_not_allowed',
      `${origin(named)} is not an endpoint of this deployment; name "live" or "preview", or one of: ${[...allowed].join(', ')}`,
    );
  }
  return { url: named.replace(/\/$/, ''), headers: {} };
}

/** A GET /readyz that answers at all within 5 s (a candidate that is not ready is judged by the gates). */
async function answers(endpoint: Endpoint, trust: (() => string[]) | undefined): Promise<string | undefined> {
  const dispatcher = gateDispatcher(trust);
  try {
    // Never followed (undici's request does not): a redirect would carry the endpoint's headers (a preview token) elsewhere.
    const response = await request(`${endpoint.url}/readyz`, {
      headers: endpoint.headers,
      signal: AbortSignal.timeout(5_000),
      dispatcher,
    });
    await response.body.dump();
    return undefined;
  } catch (error) {
    return ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
  } finally {
    void dispatcher.destroy().catch(() => undefined);
  }
}

/** Gate runs queued at most (the one running included): Argo starts a template's metrics together. */
const MAX_QUEUED = 8;

/** Tasks one at a time, in the order they came; 503 `overloaded` when `limit` are queued already. */
function serialQueue(limit: number) {
  let tail: Promise<void> = Promise.resolve();
  let queued = 0;
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (queued >= limit)
      throw new GuardgateError('overloaded', `${queued} gate runs are queued already; try again later`, {
        retryAfter: 30,
      });
    queued++;
    const previous = tail;
    let done!: () => void;
    tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      return await task();
    } finally {
      queued--;
      done();
    }
  };
}

/** Mount POST /admin/gates/run (behind the admin scope of the app it is given). */
export function registerGateEndpoint(app: FastifyInstance, options: GateEndpointOptions): void {
  // One run at a time: gates measure, and two at once would measure each other.
  const inTurn = serialQueue(MAX_QUEUED);
  app.post(GATES_RUN_PATH, async (request, reply) => {
    const parsed = gateRunSchema.safeParse(request.body ?? {});
    if (!parsed.success)
      throw new GuardgateError(
        'invalid_request',
        `the gate request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
      );
    const body = parsed.data;
    const { settings } = body;
    if (
      settings.functional.suite !== undefined ||
      (settings.shadow.replay !== false && settings.shadow.replay.corpus !== undefined)
    ) {
      throw new GuardgateError(
        'invalid_request',
        'suite and corpus files are not named over HTTP: the gates use the shipped suite and corpus',
      );
    }
    const candidate = resolveEndpoint(body.candidate, options);
    const baseline = resolveEndpoint(body.baseline, options);
    for (const [what, endpoint] of [
      ['candidate', candidate],
      ['baseline', baseline],
    ] as const) {
      const failure = await answers(endpoint, options.trust);
      if (failure !== undefined)
        throw new GuardgateError('endpoint_unreachable', `the ${what} ${endpoint.url} does not answer: ${failure}`, {
          retryAfter: 5,
        });
    }
    // The client going away (Argo's timeout) stops the gates, and its place in the queue.
    const stop = new AbortController();
    setMaxListeners(100, stop.signal);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) stop.abort();
    });
    const direct = (named: string, endpoint: Endpoint) =>
      (named === 'live' || named === 'preview' ? options.instanceOf?.(named) : undefined) ?? endpoint.url;
    const targets: GateTargets = {
      live: baseline,
      preview: candidate,
      activeInstance: direct(body.baseline, baseline),
      candidateInstance: direct(body.candidate, candidate),
      colors: { active: 'blue', candidate: 'green' },
      checkSides: false,
    };
    const gates = await inTurn(async () => {
      const reports: GateReport[] = [];
      for (const gate of body.gates) {
        if (stop.signal.aborted) break;
        reports.push(
          await runGate(
            gate,
            settings,
            targets,
            {
              credentials: options.credentials(),
              auditText: options.auditText,
              trust: options.trust,
              log: options.log,
            },
            stop.signal,
          ),
        );
      }
      return reports;
    });
    const answer: GateRunAnswer = {
      pass:
        gates.length === body.gates.length &&
        gates.every(
          (report) =>
            gateOutcome(report, report.gate === 'shadow' ? settings.shadow.onInconclusive : 'fail') === 'passed',
        ),
      candidate: candidate.url,
      baseline: baseline.url,
      gates,
    };
    const broken = gates.filter((report) => report.error !== undefined);
    if (broken.length > 0) {
      const error = new GuardgateError(
        'gate_error',
        `the ${broken.map((r) => r.gate).join(' and ')} gate could not run: ${broken.map((r) => r.error).join('; ')}`,
      );
      return reply.code(error.status).send({ ...error.toBody(), ...answer, pass: false });
    }
    return answer;
  });
}
