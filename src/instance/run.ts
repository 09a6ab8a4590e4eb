// Running an instance: listen, warm the engine up until it answers, and shut down gracefully
// (readiness false at once, in-flight requests finish, bounded by a deadline).
import { BUILD } from '../shared/build.js';
import { openTracing } from '../shared/tracing.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { InstanceConfig } from '../config/instance.js';
import { ConfigError } from '../config/load.js';
import { createEngine } from '../engines/create.js';
import type { Engine } from '../engines/engine.js';
import type { FastifyBaseLogger } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import { SecretValues } from '../auth/secret-values.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../auth/rate-limit.js';
import { openAuditLog, openCache } from '../store/open.js';
import { InstanceMetrics } from './metrics.js';
import { buildInstance, type BuiltInstance } from './server.js';
import { compactEld } from '../moderation/eld-model.js';
import { languageDetector } from '../moderation/language.js';

const WARM_UP_INPUT = { prompt: 'Hello, how are you today?' };

/** A started instance. */
export interface RunningInstance extends BuiltInstance {
  url: string;
  /** Resolves once the engine has answered a warm-up (or the instance is shutting down). */
  warmedUp: Promise<void>;
  /** Graceful shutdown; resolves when the listener and the engine are closed. */
  shutdown(): Promise<void>;
}

async function warmUp(engine: Engine, built: BuiltInstance): Promise<void> {
  for (let wait = 100; !built.state.draining; wait = Math.min(wait * 2, 5_000)) {
    try {
      await engine.classify(WARM_UP_INPUT);
      built.state.warm = true;
      built.app.log.info({ engine: { ...engine.info, ...engine.describe?.() } }, 'engine warmed up; ready');
      return;
    } catch (error) {
      built.app.log.warn({ err: error, retryInMs: wait }, 'engine warm-up failed; not ready yet');
      await delay(wait);
    }
  }
}

function openRateLimiter(config: InstanceConfig, onError: () => void): RateLimiter | undefined {
  const { rateLimit } = config.auth;
  if (Object.keys(rateLimit.limits).length === 0) return undefined;
  if (rateLimit.store === 'memory') return new MemoryRateLimiter();
  const url = rateLimit.redisUrl ?? config.cache.redisUrl;
  if (url === undefined)
    throw new ConfigError('auth.rateLimit.store redis needs auth.rateLimit.redisUrl (or REDIS_URL)');
  return new RedisRateLimiter(url, rateLimit.timeoutMs, onError);
}

/** Start an instance: its stores, engine, app and listener. */
export async function startInstance(config: InstanceConfig, given?: Engine): Promise<RunningInstance> {
  const ngrams = await compactEld();
  const engine = given ?? (await createEngine(config.engine, { ngrams }));
  const metrics = new InstanceMetrics(config.version, config.color, engine.info);
  // The app's logger exists only once the app is built, after the audit log it reports on.
  const logger: { log?: FastifyBaseLogger } = {};
  const audit = await openAuditLog(config, {
    written: (n) => metrics.audit.inc({ outcome: 'written' }, n),
    replayed: (n) => {
      metrics.audit.inc({ outcome: 'replayed' }, n);
      logger.log?.info({ records: n }, 'audit spool replayed to the store');
    },
    spooled: (n, error) => {
      metrics.audit.inc({ outcome: 'spooled' }, n);
      logger.log?.warn({ records: n, err: error }, 'audit store unavailable: records spooled locally');
    },
    failed: (error, failures) =>
      logger.log?.error(
        { err: error, failures, held: audit?.backlog().buffered },
        'AUDIT SPOOL FAILING: records are held in memory until the store or the spool takes them',
      ),
  });
  const cache = openCache(config.cache);
  metrics.auditBacklogSource = audit && (() => audit.backlog());
  const digestFileError = (error: unknown) =>
    logger.log?.error({ err: error }, 'a credential file is unreadable; the values read before stay in force');
  const authenticator = await Authenticator.create(config.auth, {
    onKeyFileError: (error) =>
      logger.log?.error({ err: error }, 'API key file unreadable; the keys loaded before stay in force'),
    onDigestFileError: digestFileError,
  });
  const routerSecret =
    config.routerSecret === undefined ? undefined : SecretValues.open(config.routerSecret, undefined, digestFileError);
  const limiter = openRateLimiter(config, () => metrics.rateLimitErrors.inc());
  const tracing = await openTracing(config.tracing, BUILD.version);
  const built = buildInstance(
    config,
    engine,
    { authenticator, limiter, limits: config.auth.rateLimit.limits, routerSecret },
    { audit, cache, auditText: config.audit.text, tracing, detectLanguage: languageDetector(ngrams) },
    metrics,
  );
  logger.log = built.app.log;
  await built.app.listen({ host: config.host, port: config.port });
  const address = built.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const warmedUp = warmUp(engine, built);

  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      built.state.draining = true;
      built.app.log.info({ drainDelayMs: config.shutdown.drainDelayMs }, 'shutting down: not ready, draining');
      if (config.shutdown.drainDelayMs > 0) await delay(config.shutdown.drainDelayMs);
      const cancel = new AbortController();
      const deadline = delay(config.shutdown.timeoutMs, undefined, { signal: cancel.signal }).then(
        () => {
          built.app.log.warn('shutdown deadline passed; closing remaining connections');
          built.app.server.closeAllConnections();
        },
        () => undefined,
      );
      // Keep-alive connections that finish their last response after close() began would otherwise
      // linger until their idle timeout: close each as soon as it is idle.
      const sweep = setInterval(() => built.app.server.closeIdleConnections(), 25);
      await Promise.race([built.app.close(), deadline]);
      clearInterval(sweep);
      cancel.abort();
      // Every verdict served is in the buffer by now: write it (or spool it) before leaving.
      await audit?.close();
      await cache?.close();
      await limiter?.close();
      authenticator.close();
      await engine.close();
      await tracing?.shutdown();
    })());

  return { ...built, url: `http://${host}:${port}`, warmedUp, shutdown };
}
