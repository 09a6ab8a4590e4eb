// The router's data path: each request goes to one healthy instance of the color the traffic policy
// picks; connection failures before any response byte are retried once on another instance of the same
// color under a retry budget; responses stream back with the color and version that answered.
// It knows nothing about releases.
//
// The hot path is one handler object per request (an `Exchange`): headers are read in one pass over the
// raw header list and forwarded as a flat list, the upstream request is an undici `dispatch` whose
// callbacks are the exchange's methods, and there are no per-request promises, abort signals or header
// objects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Authenticator } from '../auth/authenticator.js';
import { errorHeaders, GuardgateError } from '../vocabulary/errors.js';
import { MIRROR_HEADER, PREVIEW_HEADER } from '../shared/headers.js';
import { clientAddress, isConnectionError } from '../shared/net.js';
import { newTraceId } from '../shared/trace.js';
import { endWithStatus, parentOf, SpanKind, traceparentOf, type Span, type Tracing } from '../shared/tracing.js';
import type { RouterMetrics } from './metrics.js';
import type { Mirror } from './mirror.js';
import type { ColorPool } from './pool.js';
import type { RetryBudget } from './retry-budget.js';
import { failoverDecision, routeRequest, type RouteDecision, type TrafficPolicy } from './routing.js';
import { otherColor, type Color } from '../vocabulary/colors.js';
import type { Upstream } from './upstream.js';
import { COLOR_HEADER, VERSION_HEADER } from '../shared/served-by.js';

/** Headers that describe one connection or hop, not the message: never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
]);

/** Hop-by-hop, plus whatever the `Connection` header names (the common `keep-alive`/`close` add nothing new). */
function droppedHeaders(connection: string | undefined): ReadonlySet<string> {
  if (connection === undefined) return HOP_BY_HOP;
  const lower = connection.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close') return HOP_BY_HOP;
  const named = lower
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return named.every((n) => HOP_BY_HOP.has(n)) ? HOP_BY_HOP : new Set([...HOP_BY_HOP, ...named]);
}

const TRACEPARENT_ONLY: ReadonlySet<string> = new Set(['traceparent']);

/** Keep the pairs of a flat [name, value, …] list whose (lower-case) names are not in `dropped`. */
function withoutNamed(pairs: string[], dropped: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < pairs.length; i += 2)
    if (!dropped.has(pairs[i]!.toLowerCase())) out.push(pairs[i]!, pairs[i + 1]!);
  return out;
}

/** The instance could not be reached at all (as opposed to a connection that broke). */
const REFUSED = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const isRefused = (error: unknown): boolean => REFUSED.has((error as { code?: string }).code ?? '');

/** Request ids for requests that came without one: a random prefix per process and a counter (no UUID per request). */
const ID_PREFIX = newTraceId().slice(0, 16);
let idCounter = 0;
const nextRequestId = (): string => ID_PREFIX + (idCounter++ % 0x10000000000000).toString(16).padStart(16, '0');

/** Bounds of the data path: body size, deadlines, in-flight requests, trusted proxies. */
export interface DataPathOptions {
  bodyLimitBytes: number;
  /** Proxies in front of the router whose X-Forwarded-For is passed on; from anyone else it is replaced. */
  trustedProxies: ReadonlySet<string>;
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
type TrackedSocket = Socket & { [IN_FLIGHT]?: Set<Exchange> };

/** Requests one connection may have in flight at once (pipelining): more get 503 overloaded. */
export const MAX_PIPELINED = 16;

/** Requests in flight on one client connection. */
export function inFlightOn(socket: Socket): number {
  return (socket as TrackedSocket)[IN_FLIGHT]?.size ?? 0;
}

/** What the data path reads and tells: pools, policy, metrics, mirror, budget. */
export interface DataPathDeps {
  /** Spans per request, when tracing is on. */
  tracing?: Tracing | undefined;
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

/** What the router needs of a client's headers, read in one pass over `rawHeaders`. */
interface ClientHeaders {
  /** The headers to send upstream, as a flat [name, value, …] list. */
  forward: string[];
  preview: boolean;
  sticky: string | undefined;
  authorization: string | undefined;
}

function readClientHeaders(
  req: IncomingMessage,
  stickyHeader: string | null,
  trustedProxies: ReadonlySet<string>,
): ClientHeaders {
  const raw = req.rawHeaders;
  const forward: string[] = [];
  let connection: string | undefined;
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let hasId = false;
  let preview = false;
  let sticky: string | undefined;
  let authorization: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    switch (name) {
      case 'connection':
        connection = connection === undefined ? value : `${connection},${value}`;
        continue;
      case 'host':
        host ??= value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-host':
      case MIRROR_HEADER: // a client's own mirror header is never passed on: only the router marks copies (with its secret)
        continue;
      case 'x-request-id':
      case 'traceparent':
        hasId = true;
        break;
      case PREVIEW_HEADER:
        preview = value === '1';
        break;
      case 'authorization':
        authorization ??= value;
        break;
    }
    if (name === stickyHeader) sticky ??= value;
    if (!HOP_BY_HOP.has(name)) forward.push(raw[i]!, value);
  }
  const dropped = droppedHeaders(connection);
  const out = dropped === HOP_BY_HOP ? forward : withoutNamed(forward, dropped);
  if (!hasId) out.push('x-request-id', nextRequestId());
  // The client's address, after what a trusted proxy in front said; what anyone else says is dropped.
  const remote = req.socket.remoteAddress === undefined ? undefined : clientAddress(req.socket);
  if (remote !== undefined)
    out.push(
      'x-forwarded-for',
      forwardedFor === undefined || !trustedProxies.has(remote) ? remote : `${forwardedFor}, ${remote}`,
    );
  if (host !== undefined) out.push('x-forwarded-host', host);
  return { forward: out, preview, sticky, authorization };
}

/** An instance's response headers for the client: hop-by-hop dropped; the color, version and policy epoch that answered added. */
function responseHeaders(raw: Buffer[], pool: ColorPool, epoch: string): string[] {
  const pairs: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const value = raw[i + 1]!.toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'connection') connection = value;
    // The instance names its color and version too: the router's (the pool's) are said once, below.
    if (!HOP_BY_HOP.has(lower) && lower !== COLOR_HEADER && lower !== VERSION_HEADER) pairs.push(name, value);
  }
  const dropped = droppedHeaders(connection);
  const out = dropped === HOP_BY_HOP ? pairs : withoutNamed(pairs, dropped);
  out.push(COLOR_HEADER, pool.color);
  if (pool.version !== null) out.push(VERSION_HEADER, pool.version);
  out.push('x-guardgate-epoch', epoch);
  return out;
}

/** Answer a raw response with a JSON error (or cut it when its head is already sent). */
export function writeError(res: ServerResponse, error: GuardgateError): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = JSON.stringify(error.toBody());
  res
    .writeHead(error.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      ...errorHeaders(error),
    })
    .end(body);
}

/** The router serves paths only: not `*`, not absolute-form (`http://…`, `ftp://…`): it is no forward proxy. */
const isOriginForm = (target: string | undefined): boolean => target !== undefined && target.charCodeAt(0) === 47; // '/'

/** Serves one client request: route, forward with retries, answer, count. */
export class DataPath {
  constructor(
    readonly deps: DataPathDeps,
    readonly options: DataPathOptions,
  ) {}

  /** Serve one client request. Never throws: every failure becomes a JSON error response. */
  handle(req: IncomingMessage, res: ServerResponse, viaPreviewPort: boolean): void {
    const { pools, policy } = this.deps;
    if (!isOriginForm(req.url)) {
      this.refuse(req, res, new GuardgateError('invalid_request', 'the request target must be a path'), 'invalid');
      return;
    }
    // One connection that pipelines without end cannot take every instance's in-flight allowance.
    if (inFlightOn(req.socket) >= MAX_PIPELINED) {
      this.refuse(
        req,
        res,
        new GuardgateError('overloaded', `more than ${MAX_PIPELINED} requests in flight on one connection`, {
          retryAfter: 1,
        }),
        'pipelined',
      );
      return;
    }
    const headers = readClientHeaders(req, policy.stickyHeader, this.options.trustedProxies);
    // Reaching the standby is a privilege: the preview scope, or the preview listener.
    const preview = viaPreviewPort || headers.preview;
    let decision = routeRequest(policy, {
      preview,
      stickyKey: headers.sticky,
      splitDraw: Math.random(),
      mirrorDraw: Math.random(),
    });
    if (policy.failover) {
      decision = failoverDecision(
        policy,
        decision,
        pools[policy.active].healthyCount,
        pools[otherColor(policy.active)].healthyCount,
      );
      if (decision.reason === 'failover') this.deps.onFailover();
    }
    const span = this.deps.tracing === undefined ? undefined : this.traced(req, headers, decision);
    if (preview && !viaPreviewPort) {
      this.deps.authenticator.authorize(headers.authorization, 'preview').then(
        () => new Exchange(this, req, res, decision, headers.forward, span).start(),
        (error: unknown) => {
          this.refuse(
            req,
            res,
            error instanceof GuardgateError ? error : new GuardgateError('internal', (error as Error).message),
            'preview',
          );
          if (span !== undefined) endWithStatus(span, res.statusCode);
        },
      );
      return;
    }
    new Exchange(this, req, res, decision, headers.forward, span).start();
  }

  /**
   * The request's span, child of the caller's traceparent; the instance gets this span as its parent, and the
   * verdict its trace id. A caller's own x-request-id that is a trace id (32 hex digits) stays the trace id; the
   * router's own request ids never become one (they count up: the ratio sampler would decide them all alike).
   */
  private traced(req: IncomingMessage, headers: ClientHeaders, decision: RouteDecision): Span {
    const incoming = req.headers.traceparent;
    const pool = this.deps.pools[decision.color];
    const forward = headers.forward;
    const given = req.headers['x-request-id'];
    const span = this.deps.tracing!.start('guardgate.router', {
      kind: SpanKind.SERVER,
      parent: parentOf(typeof incoming === 'string' ? incoming : undefined),
      traceId: typeof given === 'string' ? given.toLowerCase() : undefined,
      attributes: {
        'http.request.method': req.method ?? '',
        'url.path': (req.url ?? '').split('?', 1)[0]!,
        'guardgate.color': decision.color,
        'guardgate.version': pool.version ?? '',
        'guardgate.route_reason': decision.reason,
        'guardgate.mirror': decision.mirror,
      },
    });
    headers.forward = [...withoutNamed(forward, TRACEPARENT_ONLY), 'traceparent', traceparentOf(span)];
    return span;
  }

  /** Answer without forwarding (the body is drained so that the connection stays usable). */
  private refuse(req: IncomingMessage, res: ServerResponse, error: GuardgateError, reason: string): void {
    req.resume();
    writeError(res, error);
    this.deps.metrics.countRequest('none', reason, error.status);
  }
}

/**
 * One request through the router, and the undici handler of its upstream attempts. Its life ends when it is
 * answered, when its client's connection closes (which also ends the later requests of a pipeline that
 * will never be answered), or at its overall deadline, time spent waiting for an upstream connection
 * included; the last two cancel the upstream attempt.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly pool: ColorPool;
  /** The epoch of the policy that routed this request. */
  private readonly epoch: string;
  private readonly mirrorTo: ColorPool | undefined;
  private timer: NodeJS.Timeout | undefined;
  private peers: Set<Exchange> | undefined;
  private chunks: Buffer[] = [];
  private bodySize = 0;
  private body: Buffer | undefined;
  /** The attempt in flight: its instance, when it started, and how to cancel it (once undici hands it over). */
  private upstream: Upstream | undefined;
  private failed: Upstream | undefined;
  private started = 0;
  private abortAttempt: ((reason?: Error) => void) | undefined;
  private answered = false;
  private status = 0;
  /** A mirrored answer's head, held with its body (in `chunks`) until it is complete. */
  private answerHeaders: string[] | undefined;
  private resume: (() => void) | undefined;
  private clientGone = false;
  private timedOut = false;
  private done = false;

  constructor(
    private readonly path: DataPath,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly decision: RouteDecision,
    private readonly headers: string[],
    private readonly span?: Span,
  ) {
    this.pool = path.deps.pools[decision.color];
    this.epoch = path.deps.policy.epoch;
    this.mirrorTo = decision.mirror ? path.deps.pools[otherColor(decision.color)] : undefined;
  }

  /** This request's answer is paired with a copy sent to the standby. */
  private get mirroring(): boolean {
    return this.mirrorTo !== undefined && this.body !== undefined;
  }

  start(): void {
    const socket = this.req.socket as TrackedSocket;
    if (socket.destroyed) {
      this.req.resume();
      this.finish('aborted');
      return;
    }
    let peers = socket[IN_FLIGHT];
    if (peers === undefined) {
      const created = new Set<Exchange>();
      socket[IN_FLIGHT] = peers = created;
      socket.once('close', () => {
        for (const exchange of created) exchange.onClientClose();
      });
    }
    this.peers = peers;
    peers.add(this);
    this.timer = setTimeout(this.onDeadline, this.path.options.upstreamTimeoutMs);
    this.path.deps.budget.recordRequest();
    const method = this.req.method;
    if (method === 'GET' || method === 'HEAD') {
      this.req.resume();
      this.attempt();
      return;
    }
    this.req.on('data', this.onBodyChunk);
    this.req.on('end', this.onBodyEnd);
    this.req.on('error', this.onBodyError);
  }

  private readonly onBodyChunk = (chunk: Buffer): void => {
    if (this.done) return;
    this.bodySize += chunk.length;
    if (this.bodySize > this.path.options.bodyLimitBytes) {
      this.fail(new GuardgateError('body_too_large', `the body is over ${this.path.options.bodyLimitBytes} bytes`));
      this.req.resume();
      return;
    }
    this.chunks.push(chunk);
  };

  private readonly onBodyEnd = (): void => {
    if (this.done) return;
    this.body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.attempt();
  };

  private readonly onBodyError = (): void => {
    if (!this.done) this.onClientClose();
  };

  /** Send the request to an instance: another one than the one that just failed, or the same one on a new connection when it is the only one. */
  private attempt(): void {
    const { maxInFlightPerInstance } = this.path.options;
    const pool = this.pool;
    const upstream =
      pool.pick(maxInFlightPerInstance, this.failed) ??
      (this.failed?.healthy ? pool.pick(maxInFlightPerInstance) : undefined);
    if (upstream === undefined) {
      if (pool.healthyCount === 0)
        this.fail(
          new GuardgateError('no_healthy_upstream', `no healthy instance in the ${pool.color} environment`, {
            retryAfter: 1,
          }),
        );
      else
        this.fail(
          new GuardgateError(
            'overloaded',
            `every instance of the ${pool.color} environment has ${maxInFlightPerInstance} requests in flight`,
            { retryAfter: 1 },
          ),
        );
      return;
    }
    this.upstream = upstream;
    this.abortAttempt = undefined;
    this.started = performance.now();
    if (this.span !== undefined) this.span.setAttribute('guardgate.upstream', upstream.url);
    upstream.inFlight++;
    upstream.client.dispatch(
      {
        method: this.req.method as Dispatcher.HttpMethod,
        path: this.req.url!,
        headers: this.headers,
        body: this.body ?? null,
        // One attempt may take this long before its first byte; then another instance is tried (budget permitting).
        headersTimeout: this.path.options.attemptTimeoutMs,
        bodyTimeout: this.path.options.upstreamTimeoutMs,
      },
      this,
    );
  }

  /** The attempt is over (answered or failed): its instance has one request fewer in flight. */
  private attemptEnded(): Upstream {
    const upstream = this.upstream!;
    upstream.inFlight--;
    this.upstream = undefined;
    this.abortAttempt = undefined;
    return upstream;
  }

  // undici's handler callbacks.

  onConnect(abort: (reason?: Error) => void): void {
    this.abortAttempt = abort;
    if (this.done) abort(new ClientGone('the request is over'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // an interim answer (100 Continue) is not passed on
    this.answered = true;
    this.status = statusCode;
    if (this.done) return true;
    const headers = responseHeaders(rawHeaders, this.pool, this.epoch);
    if (this.mirroring) {
      // Mirrored: keep the (small) active answer to pair it with the standby's.
      this.answerHeaders = headers;
      return true;
    }
    this.res.writeHead(statusCode, headers);
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return true;
    if (this.answerHeaders !== undefined) {
      this.chunks.push(chunk);
      return true;
    }
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    const upstream = this.attemptEnded();
    const pool = this.pool;
    const now = performance.now();
    const latencyMs = now - this.started;
    // Evidence for the health checks that it serves, though its checks may time out (health.ts).
    if (this.status < 500) upstream.lastAnsweredAt = now;
    this.path.deps.metrics.observeUpstream(pool.color, latencyMs / 1000);
    if (this.done) return;
    if (this.answerHeaders === undefined) {
      this.res.end();
    } else {
      const answer = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [];
      this.res.writeHead(this.status, this.answerHeaders).end(answer);
      // Only requests the active color served are copied: a refused one (401, 403, 429) must not reach
      // the standby, which trusts the copies the router marks.
      if (this.status >= 200 && this.status < 300) {
        const active = { color: pool.color, version: pool.version, status: this.status, body: answer, latencyMs };
        this.path.deps.mirror.offer(
          this.mirrorTo!,
          { method: this.req.method!, path: this.req.url!, headers: this.headers, body: this.body! },
          Promise.resolve(active),
        );
      }
    }
    this.finish(this.status);
  }

  onError(error: Error): void {
    const upstream = this.attemptEnded();
    if (this.done) return;
    if (this.answered || this.res.headersSent) {
      // The answer broke half way: the client cannot be told otherwise.
      this.res.destroy();
      this.finish(this.clientGone ? 'aborted' : 502);
      return;
    }
    const { metrics, budget } = this.path.deps;
    const { attemptTimeoutMs, upstreamTimeoutMs } = this.path.options;
    const pool = this.pool;
    const code = (error as { code?: string }).code;
    const hung = code === 'UND_ERR_HEADERS_TIMEOUT';
    if (code === 'UND_ERR_BODY_TIMEOUT') {
      this.fail(
        new GuardgateError(
          'upstream_timeout',
          `the ${pool.color} instance did not finish its answer within ${upstreamTimeoutMs} ms`,
          { retryAfter: 1 },
        ),
      );
      return;
    }
    if (!hung && !isConnectionError(error)) {
      this.fail(new GuardgateError('upstream_unavailable', error.message, { cause: error }));
      return;
    }
    // A refused connection takes the instance out of rotation until checks pass again. A reset does not (a
    // kept-alive connection the instance closed as it was reused is no sign of a dead instance), nor does
    // a slow first byte (busy is not dead): the health checks decide those.
    if (isRefused(error) && upstream.eject(`a request's connection failed: ${code ?? error.message}`))
      this.path.deps.onEject(upstream, pool);
    // Nothing of the response arrived, so a verdict can be asked again elsewhere, once.
    if (this.failed !== undefined || !budget.tryRetry()) {
      metrics.retries.inc({ color: pool.color, outcome: this.failed === undefined ? 'refused' : 'exhausted' });
      if (hung)
        this.fail(
          new GuardgateError(
            'upstream_timeout',
            `the ${pool.color} instance did not answer within ${attemptTimeoutMs} ms`,
            { retryAfter: 1 },
          ),
        );
      else
        this.fail(
          new GuardgateError('upstream_unavailable', `the ${pool.color} instance failed: ${error.message}`, {
            retryAfter: 1,
          }),
        );
      return;
    }
    metrics.retries.inc({ color: pool.color, outcome: 'retried' });
    this.span?.addEvent('retry', { 'guardgate.failed_upstream': upstream.url, 'error.type': code ?? error.name });
    this.span?.setAttribute('guardgate.retried', true);
    this.failed = upstream;
    this.attempt();
  }

  // The end of the request's life.

  /** Its client's connection closed: nothing can be answered; the upstream attempt is cancelled. */
  onClientClose(): void {
    if (this.done) return;
    this.clientGone = true;
    this.res.destroy();
    this.finish('aborted');
  }

  private readonly onDeadline = (): void => {
    if (this.done) return;
    this.timedOut = true;
    if (this.res.headersSent) {
      this.res.destroy();
      this.finish(504);
    } else {
      this.fail(
        new GuardgateError(
          'upstream_timeout',
          `no answer from the ${this.pool.color} environment within ${this.path.options.upstreamTimeoutMs} ms`,
          { retryAfter: 1 },
        ),
      );
    }
  };

  /** Answer with an error (or, when the client is gone, with nothing). */
  private fail(error: GuardgateError): void {
    if (this.done) return;
    // The socket may be gone before its close event has run (a write into it failed first).
    if (this.req.socket.destroyed) {
      this.clientGone = true;
      this.res.destroy();
      this.finish('aborted');
      return;
    }
    writeError(this.res, error);
    this.finish(error.status);
  }

  private finish(status: number | 'aborted'): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.peers?.delete(this);
    if (this.upstream !== undefined)
      this.abortAttempt?.(
        this.clientGone ? new ClientGone('the client closed the connection') : new Error('the request is over'),
      );
    this.path.deps.metrics.countRequest(this.decision.color, this.decision.reason, status);
    if (this.span !== undefined) endWithStatus(this.span, status);
  }
}
