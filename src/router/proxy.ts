// The router's data path: each request goes to one healthy instance of the color the traffic policy
// picks; connection failures before any response byte are retried once on another instance of the same
// color under a retry budget; responses stream back with the color and version that answered.
// It knows nothing about releases.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Authenticator } from '../auth/authenticator.js';
import { errorHeaders, GuardgateError } from '../moderation/errors.js';
import { isConnectionError } from '../shared/net.js';
import { newTraceId } from '../shared/trace.js';
import type { RouterMetrics } from './metrics.js';
import type { Mirror } from './mirror.js';
import { MIRROR_HEADER, PREVIEW_HEADER } from '../shared/headers.js';
import type { ColorPool } from './pool.js';
import type { RetryBudget } from './retry-budget.js';
import { failoverDecision, otherColor, routeRequest, type Color, type TrafficPolicy } from './routing.js';
import type { Upstream } from './upstream.js';


/** Headers that describe one connection or hop, not the message: never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect']);

/** Hop-by-hop, plus whatever the `Connection` header names (the common `keep-alive`/`close` add nothing new). */
function droppedHeaders(connection: string | string[] | undefined): ReadonlySet<string> {
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return HOP_BY_HOP;
  const named = (Array.isArray(connection) ? connection.join(',') : connection).split(',').map((n) => n.trim().toLowerCase()).filter(Boolean);
  return named.every((n) => HOP_BY_HOP.has(n)) ? HOP_BY_HOP : new Set([...HOP_BY_HOP, ...named]);
}

/** The instance could not be reached at all (as opposed to a connection that broke). */
const REFUSED = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const isRefused = (error: unknown): boolean => REFUSED.has((error as { code?: string }).code ?? '');

/** Request ids for requests that came without one: a random prefix per process and a counter (no UUID per request). */
const ID_PREFIX = newTraceId().slice(0, 16);
let idCounter = 0;
const nextRequestId = (): string => ID_PREFIX + (idCounter++ % 0x10000000000000).toString(16).padStart(16, '0');

export interface DataPathOptions {
  bodyLimitBytes: number;
  /** The most a request may take through the router, waiting for a connection included. */
  upstreamTimeoutMs: number;
  /** The most one attempt may wait for its first byte before another instance is tried. */
  attemptTimeoutMs: number;
  /** Requests in flight to one instance at most; beyond that the instance is not picked. */
  maxInFlightPerInstance: number;
}

class ClientGone extends Error {
  readonly code = 'CLIENT_GONE';
}

/** The requests in flight on one client connection; one close listener per connection ends them all. */
const IN_FLIGHT = Symbol('guardgate.inFlight');
type TrackedSocket = Socket & { [IN_FLIGHT]?: Set<RequestLifetime> };

/** Requests one connection may have in flight at once (pipelining): more get 503 overloaded. */
export const MAX_PIPELINED = 16;

export function inFlightOn(socket: Socket): number {
  return (socket as TrackedSocket)[IN_FLIGHT]?.size ?? 0;
}

/**
 * The life of one request through the router: aborted when its client's connection closes, or at its
 * overall deadline. A handler object per request (one timer), released by `end()`.
 */
class RequestLifetime {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly peers: Set<RequestLifetime>;
  clientGone = false;
  timedOut = false;

  constructor(req: IncomingMessage, deadlineMs: number) {
    this.timer = setTimeout(this.onDeadline, deadlineMs);
    const socket = req.socket as TrackedSocket;
    let peers = socket[IN_FLIGHT];
    if (peers === undefined) {
      const created = new Set<RequestLifetime>();
      socket[IN_FLIGHT] = peers = created;
      socket.once('close', () => {
        for (const lifetime of created) lifetime.onClose();
      });
    }
    this.peers = peers;
    peers.add(this);
    if (socket.destroyed) this.onClose();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private onClose(): void {
    this.clientGone = true;
    this.controller.abort(new ClientGone('the client closed the connection'));
  }

  private readonly onDeadline = (): void => {
    this.timedOut = true;
    this.controller.abort(new Error('the request deadline passed'));
  };

  end(): void {
    clearTimeout(this.timer);
    this.peers.delete(this);
  }
}

export interface DataPathDeps {
  pools: Record<Color, ColorPool>;
  policy: TrafficPolicy;
  metrics: RouterMetrics;
  budget: RetryBudget;
  mirror: Mirror;
  /** Called when a live request takes an instance out of rotation. */
  onEject: (upstream: Upstream, pool: ColorPool) => void;
  /** Checks the preview privilege. */
  authenticator: Authenticator;
  /** A live request went to the standby because the active color had no healthy instance. */
  onFailover: () => void;
}

function upstreamHeaders(headers: IncomingHttpHeaders, remoteAddress: string | undefined): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  const dropped = droppedHeaders(headers.connection);
  // A client's own mirror header is never passed on: only the router marks copies (with its secret).
  for (const name in headers) if (!dropped.has(name) && name !== MIRROR_HEADER) out[name] = headers[name];
  if (out.traceparent === undefined && out['x-request-id'] === undefined) out['x-request-id'] = nextRequestId();
  if (remoteAddress !== undefined) out['x-forwarded-for'] = out['x-forwarded-for'] ? `${out['x-forwarded-for']}, ${remoteAddress}` : remoteAddress;
  if (headers.host !== undefined) out['x-forwarded-host'] = headers.host;
  return out;
}

function responseHeaders(headers: Record<string, string | string[] | undefined>, pool: ColorPool): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const dropped = droppedHeaders(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !dropped.has(name)) out[name] = value;
  }
  out['x-guardgate-color'] = pool.color;
  if (pool.version !== null) out['x-guardgate-version'] = pool.version;
  return out;
}

function readBody(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // The request's deadline covers a body that arrives too slowly, too.
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal.removeEventListener('abort', onAbort));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new GuardgateError('body_too_large', `the body is over ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before sending the whole body'));
    });
  });
}

export function sendError(res: ServerResponse, error: GuardgateError): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = JSON.stringify(error.toBody());
  res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...errorHeaders(error) }).end(body);
}

/** The router serves paths only: not `*`, not absolute-form (`http://…`, `ftp://…`): it is no forward proxy. */
const isOriginForm = (target: string | undefined): boolean => target !== undefined && target.charCodeAt(0) === 47; // '/'

export class DataPath {
  constructor(
    private readonly deps: DataPathDeps,
    private readonly options: DataPathOptions,
  ) {}

  /** Serve one client request. Never throws: every failure becomes a JSON error response. */
  async handle(req: IncomingMessage, res: ServerResponse, viaPreviewPort: boolean): Promise<void> {
    const { pools, policy, metrics } = this.deps;
    if (!isOriginForm(req.url)) {
      this.refuse(req, res, new GuardgateError('invalid_request', 'the request target must be a path'), 'invalid');
      return;
    }
    // One connection that pipelines without end cannot take every instance's in-flight allowance.
    if (inFlightOn(req.socket) >= MAX_PIPELINED) {
      this.refuse(req, res, new GuardgateError('overloaded', `more than ${MAX_PIPELINED} requests in flight on one connection`, { retryAfter: 1 }), 'pipelined');
      return;
    }
    // Reaching the standby is a privilege: the preview scope, or the preview listener.
    const preview = viaPreviewPort || req.headers[PREVIEW_HEADER] === '1';
    if (preview && !viaPreviewPort) {
      try {
        await this.deps.authenticator.authorize(req.headers.authorization, 'preview');
      } catch (error) {
        this.refuse(req, res, error as GuardgateError, 'preview');
        return;
      }
    }
    const stickyHeader = policy.stickyHeader;
    const sticky = stickyHeader === null ? undefined : req.headers[stickyHeader];
    let decision = routeRequest(policy, {
      preview,
      stickyKey: typeof sticky === 'string' ? sticky : undefined,
      splitDraw: Math.random(),
      mirrorDraw: Math.random(),
    });
    if (policy.failover) {
      decision = failoverDecision(policy, decision, pools[policy.active].healthyCount, pools[otherColor(policy.active)].healthyCount);
      if (decision.reason === 'failover') this.deps.onFailover();
    }
    const pool = pools[decision.color];
    // The request ends, whatever happens: when its client goes away (the socket closes, which also ends
    // the later requests of a pipeline that will never be answered) or at its overall deadline, time spent
    // waiting for an upstream connection included. Either cancels the upstream request.
    const lifetime = new RequestLifetime(req, this.options.upstreamTimeoutMs);
    let status: number | 'aborted' = 0;
    try {
      if (lifetime.signal.aborted) throw lifetime.signal.reason;
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req, this.options.bodyLimitBytes, lifetime.signal);
      const headers = upstreamHeaders(req.headers, req.socket.remoteAddress);
      const mirrorTo = decision.mirror ? pools[otherColor(decision.color)] : undefined;
      status = await this.forward(req, res, pool, headers, body, mirrorTo, lifetime.signal);
    } catch (error) {
      // The socket may be gone before its close event has run (a write into it failed first).
      if (lifetime.clientGone || req.socket.destroyed) {
        status = 'aborted';
        res.destroy();
      } else {
        const failure =
          error instanceof GuardgateError
            ? error
            : lifetime.timedOut
              ? new GuardgateError('upstream_timeout', `no answer from the ${pool.color} environment within ${this.options.upstreamTimeoutMs} ms`, { retryAfter: 1 })
              : new GuardgateError('upstream_unavailable', (error as Error).message, { cause: error });
        status = failure.status;
        sendError(res, failure);
      }
    } finally {
      lifetime.end();
      metrics.countRequest(decision.color, decision.reason, status || 'aborted');
    }
  }

  /** Answer without forwarding (the body is drained so that the connection stays usable). */
  private refuse(req: IncomingMessage, res: ServerResponse, error: GuardgateError, reason: string): void {
    req.resume();
    sendError(res, error);
    this.deps.metrics.countRequest('none', reason, error.status);
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    pool: ColorPool,
    headers: IncomingHttpHeaders,
    body: Buffer | undefined,
    mirrorTo: ColorPool | undefined,
    signal: AbortSignal,
  ): Promise<number> {
    const { metrics, budget } = this.deps;
    budget.recordRequest();
    let failed: Upstream | undefined;
    for (;;) {
      // A retry goes to another instance, or to the same one on a new connection when it is the only one.
      const upstream = pool.pick(this.options.maxInFlightPerInstance, failed) ?? (failed?.healthy ? pool.pick(this.options.maxInFlightPerInstance) : undefined);
      if (upstream === undefined) {
        if (pool.healthyCount === 0) throw new GuardgateError('no_healthy_upstream', `no healthy instance in the ${pool.color} environment`, { retryAfter: 1 });
        throw new GuardgateError('overloaded', `every instance of the ${pool.color} environment has ${this.options.maxInFlightPerInstance} requests in flight`, { retryAfter: 1 });
      }
      const started = performance.now();
      const request = {
        method: req.method as 'POST',
        path: req.url ?? '/',
        headers,
        body,
        signal,
        // One attempt may take this long before its first byte; then another instance is tried (budget permitting).
        headersTimeout: this.options.attemptTimeoutMs,
        bodyTimeout: this.options.upstreamTimeoutMs,
      };
      let answered = false;
      upstream.inFlight++;
      try {
        let status: number;
        if (mirrorTo === undefined || body === undefined) {
          // The common path: undici writes the upstream body straight into the client response.
          status = 0;
          await upstream.client.stream(request, ({ statusCode, headers: upstreamHeaders }) => {
            answered = true;
            status = statusCode;
            res.writeHead(statusCode, responseHeaders(upstreamHeaders, pool));
            return res;
          });
        } else {
          // Mirrored: keep the (small) active answer to pair it with the standby's.
          const response = await upstream.client.request(request);
          answered = true;
          const answer = Buffer.from(await response.body.arrayBuffer());
          status = response.statusCode;
          res.writeHead(status, responseHeaders(response.headers, pool)).end(answer);
          // Only requests the active color served are copied: a refused one (401, 403, 429) must not reach
          // the standby, which trusts the copies the router marks.
          if (status >= 200 && status < 300) {
            const activeAnswer = { color: pool.color, version: pool.version, status, body: answer, latencyMs: performance.now() - started };
            this.deps.mirror.offer(mirrorTo, { method: req.method!, path: req.url ?? '/', headers, body }, Promise.resolve(activeAnswer));
          }
        }
        metrics.observeUpstream(pool.color, (performance.now() - started) / 1000);
        return status;
      } catch (error) {
        if (answered || res.headersSent || signal.aborted) throw error;
        const code = (error as { code?: string }).code;
        const hung = code === 'UND_ERR_HEADERS_TIMEOUT';
        if (code === 'UND_ERR_BODY_TIMEOUT') {
          throw new GuardgateError('upstream_timeout', `the ${pool.color} instance did not finish its answer within ${this.options.upstreamTimeoutMs} ms`, { retryAfter: 1 });
        }
        if (!hung && !isConnectionError(error)) throw error;
        // A refused connection takes the instance out of rotation until checks pass again. A reset does not (a
        // kept-alive connection the instance closed as it was reused is no sign of a dead instance), nor does
        // a slow first byte (busy is not dead): the health checks decide those.
        if (isRefused(error) && upstream.eject()) this.deps.onEject(upstream, pool);
        // Nothing of the response arrived, so a verdict can be asked again elsewhere, once.
        if (failed !== undefined || !budget.tryRetry()) {
          metrics.retries.inc({ color: pool.color, outcome: failed === undefined ? 'refused' : 'exhausted' });
          if (hung) throw new GuardgateError('upstream_timeout', `the ${pool.color} instance did not answer within ${this.options.attemptTimeoutMs} ms`, { retryAfter: 1 });
          throw new GuardgateError('upstream_unavailable', `the ${pool.color} instance failed: ${(error as Error).message}`, { retryAfter: 1 });
        }
        metrics.retries.inc({ color: pool.color, outcome: 'retried' });
        failed = upstream;
      } finally {
        upstream.inFlight--;
      }
    }
  }
}
