// The moderation service's HTTP API (fastify): /predict, /v1/moderations, the playground, health,
// readiness, metrics and version, with one error shape for every failure.
import { configHash } from '../vocabulary/config-hash.js';
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Engine } from '../engines/engine.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { toOpenAIResult } from '../moderation/openai-mapping.js';
import type { InstanceConfig } from '../config/instance.js';
import { InstanceMetrics } from './metrics.js';
import { Moderator, type ModeratorStores } from './moderator.js';
import { answerNotFound, sendError, toGuardgateError } from '../api/errors.js';
import { answerExpectationsInJson, HARDENED_OPTIONS, hardenJsonParser } from '../shared/fastify-hardening.js';
import { NOSNIFF, PAGE_HEADERS } from '../shared/web-headers.js';
import { installAccess, type Access } from './access.js';
import { parseModerationsRequest, parsePredictRequest } from './requests.js';
import { traceIdFrom } from '../shared/trace.js';
import { endWithStatus, parentOf, SpanKind, under, type Span, type Tracing } from '../shared/tracing.js';
import { BUILD } from '../shared/build.js';
import { prettyStream } from '../shared/logger.js';
import { COLOR_HEADER, VERSION_HEADER } from '../shared/served-by.js';

const webFile = (name: string): string => readFileSync(new URL(`../../web/${name}`, import.meta.url), 'utf8');
const PLAYGROUND_HTML = webFile('playground.html');
const PLAYGROUND_JS = webFile('playground.js');

/** What the instance's routes read of its life (ready, draining). */
export interface InstanceState {
  /** The engine answered a warm-up. */
  warm: boolean;
  /** Shutting down: not ready, whatever the engine says. */
  draining: boolean;
  /** Until then (ms since the epoch) every answer closes its connection: clients reconnect elsewhere. */
  reconnectUntil: number;
}

/** The instance's app, moderator, metrics and state. */
export interface BuiltInstance {
  app: FastifyInstance;
  moderator: Moderator;
  metrics: InstanceMetrics;
  state: InstanceState;
}

/** Build the HTTP app around an engine; the caller listens, warms up and closes. */
export function buildInstance(
  config: InstanceConfig,
  engine: Engine,
  access: Omit<Access, 'metrics'>,
  stores: ModeratorStores = {},
  metrics = new InstanceMetrics(config.version, config.color, engine.info),
): BuiltInstance {
  const moderator = new Moderator(engine, config, metrics, stores);
  const state: InstanceState = { warm: false, draining: false, reconnectUntil: 0 };
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { service: 'guardgate', version: config.version, color: config.color },
      ...(config.logFormat === 'pretty' ? { stream: prettyStream(process.stdout) } : {}),
    },
    bodyLimit: config.limits.bodyBytes,
    genReqId: (request) => traceIdFrom(request.headers),
    // One line per request, written in onResponse with the trace id on it.
    logController: new LogController({ requestIdLogLabel: 'trace_id', disableRequestLogging: true }),
    // While closing, a request that still arrives on an open connection is served, not refused with
    // fastify's own 503 body: the drain exists so that nothing fails.
    return503OnClosing: false,
    trustProxy: config.trustProxy,
    ...HARDENED_OPTIONS,
  });
  // JSON only: a text/plain body is a wrong content type, not a string to guess at.
  app.removeContentTypeParser('text/plain');
  hardenJsonParser(app);
  answerExpectationsInJson(app, config.limits.bodyBytes);

  // Callback hooks: cheaper than async ones on the hot path.
  // Every answer names the color and version that gave it: gates check that the one they meant answered (a
  // preview Service still pointing at the live color must not validate it as the candidate).
  const servedBy: Array<[string, string]> = [
    ...(config.color ? [[COLOR_HEADER, config.color] as [string, string]] : []),
    [VERSION_HEADER, config.version],
  ];
  const leftFlight = () => metrics.inFlight.dec();
  app.addHook('onRequest', (request, reply, done) => {
    // Counted out when the response closes, answered or not: a client that hangs up gets no onResponse.
    metrics.inFlight.inc();
    reply.raw.once('close', leftFlight);
    reply.header('x-trace-id', request.id).header(NOSNIFF, 'nosniff');
    for (const [name, value] of servedBy) reply.header(name, value);
    if (state.reconnectUntil !== 0 && Date.now() < state.reconnectUntil) reply.header('connection', 'close');
    done();
  });
  installAccess(app, { ...access, metrics: { rejected: (reason) => metrics.rejections.inc({ reason }) } });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    // Users' traffic apart from the gates' evidence and the router's mirrored copies: a canary or a watch without
    // a router in the path counts users' requests only.
    const traffic = request.evidence ? 'evidence' : request.mirrored ? 'mirror' : 'live';
    metrics.httpDuration.observe(
      { route, method: request.method, status_code: reply.statusCode, traffic },
      reply.elapsedTime / 1000,
    );
    // Every verdict goes to the audit log; the access line is for debugging. Failures log at warn above.
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A client that hung up mid-body is nobody's error: nothing to answer, nothing to log above debug.
    if (request.raw.destroyed && (error as NodeJS.ErrnoException).code === 'ECONNRESET') {
      request.log.debug({ err: error }, 'client hung up');
      return reply;
    }
    const guardgateError = toGuardgateError(error, request);
    if (guardgateError.code === 'internal') request.log.error({ err: error }, 'unhandled error');
    else request.log.warn({ code: guardgateError.code, message: guardgateError.message }, 'request failed');
    return sendError(reply, guardgateError);
  });
  app.setNotFoundHandler((request, reply) => answerNotFound(app, request, reply));

  const moderate = { config: { scope: 'moderate' as const } };
  // The routes the router mirrors: a copy carries the router secret instead of a credential.
  const mirrorable = { config: { scope: 'moderate' as const, mirrorable: true } };

  /**
   * With tracing on, a request is a span under its caller's traceparent (the router's), with the request's own
   * trace id when it starts a trace; a batch has a span per verdict under it.
   */
  const tracing = stores.tracing;
  const noSpans = (): undefined => undefined;
  // Without tracing, the work is called as it is: nothing added to /predict.
  const traced = <T>(
    request: FastifyRequest,
    count: number,
    work: (spanOf: (i: number) => Span | undefined) => Promise<T>,
  ): Promise<T> => (tracing === undefined ? work(noSpans) : withSpans(tracing, request, count, work));
  async function withSpans<T>(
    tracer: Tracing,
    request: FastifyRequest,
    count: number,
    work: (spanOf: (i: number) => Span | undefined) => Promise<T>,
  ): Promise<T> {
    const traceparent = request.headers.traceparent;
    const span = tracer.start('guardgate.instance', {
      kind: SpanKind.SERVER,
      parent: parentOf(typeof traceparent === 'string' ? traceparent : undefined),
      traceId: request.id,
      attributes: {
        'http.route': request.routeOptions.url ?? '',
        'guardgate.color': config.color ?? '',
        'guardgate.version': config.version,
        'guardgate.mirrored': request.mirrored,
        'guardgate.evidence': request.evidence,
        'guardgate.batch_size': count,
      },
    });
    const items =
      count === 1
        ? [span]
        : Array.from({ length: count }, (_, i) =>
            tracer.start('guardgate.verdict', { parent: under(span), attributes: { 'guardgate.index': i } }),
          );
    let status = 200;
    try {
      return await work((i) => items[i]);
    } catch (error) {
      status = toGuardgateError(error as FastifyError).status;
      throw error;
    } finally {
      // The verdicts' spans end before the request's.
      if (count > 1) for (const item of items) item.end();
      endWithStatus(span, status);
    }
  }

  app.post('/predict', mirrorable, async (request) => {
    const parsed = parsePredictRequest(request.body, config.policy, config.limits);
    const traceId = request.id;
    const { mirrored, evidence } = request;
    return traced(request, parsed.items.length, async (spanOf) => {
      if (!parsed.batch) {
        const item = parsed.items[0]!;
        return moderator.judge(item, item.policy, { traceId, mirrored, evidence, span: spanOf(0) });
      }
      const results = await Promise.all(
        parsed.items.map((item, i) =>
          moderator.judge(item, item.policy, { traceId: `${traceId}-${i}`, mirrored, evidence, span: spanOf(i) }),
        ),
      );
      return { results };
    });
  });

  app.post('/v1/moderations', mirrorable, async (request) => {
    const parsed = parseModerationsRequest(request.body, config.policy, config.limits);
    const traceId = request.id;
    const { mirrored, evidence } = request;
    const verdicts = await traced(request, parsed.texts.length, (spanOf) =>
      Promise.all(
        parsed.texts.map((prompt, i) =>
          moderator.judge({ prompt }, parsed.policy, {
            traceId: parsed.texts.length === 1 ? traceId : `${traceId}-${i}`,
            mirrored,
            evidence,
            span: spanOf(i),
          }),
        ),
      ),
    );
    return {
      id: `modr-${traceId}`,
      model: verdicts[0]?.model ?? engine.info.model,
      results: verdicts.map((verdict) => ({
        ...toOpenAIResult(verdict, parsed.policy),
        // Not in OpenAI's schema; clients ignore it, Guardgate's users want it.
        qwen3guard: {
          safety: verdict.safety,
          categories: verdict.categories,
          trace_id: verdict.trace_id,
          degraded: verdict.degraded,
        },
      })),
    };
  });

  app.get('/healthz', async () => ({ status: 'ok', ...(stores.audit ? { audit: stores.audit.backlog() } : {}) }));
  app.get('/readyz', async (_request, reply) => {
    const saturated = stores.audit?.saturated === true;
    const ready = state.warm && !state.draining && !saturated;
    const reason = state.draining
      ? 'shutting down'
      : !state.warm
        ? 'engine has not answered a warm-up yet'
        : saturated
          ? 'audit log saturated: store and spool failing'
          : undefined;
    return reply.code(ready ? 200 : 503).send({ ready, ...(reason ? { reason } : {}) });
  });
  app.get('/metrics', { config: { scope: 'metrics' } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  // Who the credential sent is to this instance (anonymous when it is not one it knows, where anonymous access is
  // allowed): a credential rotation asks each pod until the new gate token is known there.
  app.get('/whoami', moderate, async (request) => ({
    subject: request.principal?.subject ?? 'anonymous',
    method: request.principal?.method ?? 'anonymous',
    scopes: [...(request.principal?.scopes ?? [])],
  }));
  // After traffic moved away (a Service selector switched), clients kept alive on this instance are sent
  // elsewhere: for `seconds`, every answer closes its connection. Idle connections are not cut: a client may
  // be sending on one at that moment, and that request would fail; its answer closes it instead.
  app.post<{ Body: { seconds?: unknown } }>('/admin/reconnect', { config: { scope: 'admin' } }, async (request) => {
    const seconds = request.body?.seconds ?? 10;
    if (typeof seconds !== 'number' || !(seconds > 0 && seconds <= 3_600))
      throw new GuardgateError('invalid_type', 'seconds must be a number of seconds, at most 3600');
    state.reconnectUntil = Date.now() + seconds * 1000;
    return { reconnectUntil: new Date(state.reconnectUntil).toISOString() };
  });
  app.get('/version', async () => ({
    build: BUILD,
    version: config.version,
    color: config.color,
    engine: engine.info,
    model: engine.info.model,
    config_hash: configHash(config),
  }));
  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').headers(PAGE_HEADERS).send(PLAYGROUND_HTML),
  );
  app.get('/playground.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(PLAYGROUND_JS),
  );

  return { app, moderator, metrics, state };
}
