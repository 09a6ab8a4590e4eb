// The instance's configuration: defaults, then a YAML file, then environment variables, then flags,
// validated once into a typed object.
import { z } from 'zod';
import { positiveInt } from './schema-parts.js';
import type { EngineConfig } from '../engines/create.js';
import { POLICIES, type Policy } from '../moderation/taxonomy.js';
import { allowsAnonymous, authFromEnvironment, authSchema, isLoopback, resolveAuth, type AuthConfig } from './auth.js';
import { engineSchema, resolveEngine } from './engine.js';
import { ConfigError, merge, readYamlFile, validate } from './load.js';
import { tracingConfig } from './tracing.js';
import { versionSchema } from './version.js';
import type { TracingSettings } from '../shared/tracing.js';
import { secretRefSchema, secretSource, type SecretSource } from './secret.js';
import { COLORS } from '../vocabulary/colors.js';

const port = z.coerce.number().int().min(0).max(65535);

/** An instance's configuration. */
export const instanceSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8080),
  color: z.enum(COLORS).nullable().default(null),
  /** The deployed version label: what a release moves between. */
  version: versionSchema.default('dev'),
  policy: z.enum(POLICIES).default('strict'),
  /**
   * What a verdict the engine could not read (language_not_covered) means: flag or pass. Default: the policy's
   * reading of Controversial (strict flags it, loose does not).
   */
  uncovered: z.enum(['flag', 'pass']).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** json for collectors, pretty for people (GUARDGATE_LOG_FORMAT; `serve` picks pretty for a terminal). */
  logFormat: z.enum(['json', 'pretty']).default('json'),
  limits: z
    .object({
      bodyBytes: positiveInt.default(1_048_576),
      /** Longest prompt + response accepted, in characters. Longer text is rejected, never truncated. */
      textChars: positiveInt.default(32_000),
      batchSize: positiveInt.default(64),
      /** All inputs of one request together, in characters: the work one request may ask for. */
      totalChars: positiveInt.default(200_000),
    })
    .prefault({}),
  engine: engineSchema.default({ kind: 'lexicon' }),
  /** Who may call /predict, /v1/moderations and /metrics, and how often. */
  auth: authSchema,
  /** Listen on a non-loopback address with anonymous access anyway. */
  insecure: z.boolean().default(false),
  /** The router's secret for mirrored copies (a reference); unset: mirror headers are never honoured. */
  routerSecret: secretRefSchema.optional(),
  /** Whose X-Forwarded-For is believed (for anonymous rate limits): fastify's trustProxy. */
  trustProxy: z.union([z.boolean(), z.string().min(1)]).default('127.0.0.1,::1'),
  /** Where the audit log's SQLite file and spool live. */
  dataDir: z.string().min(1).default('.guardgate'),
  audit: z
    .object({
      /** sqlite (the data directory; the default), postgres (DATABASE_URL; the default when it is set) or none. */
      sink: z.enum(['sqlite', 'postgres', 'none']).optional(),
      databaseUrl: z.string().min(1).optional(),
      schema: z.string().min(1).default('public'),
      /** What of the judged text is stored: none (a digest only), full, or redacted (detected PII masked). */
      text: z.enum(['none', 'full', 'redacted']).default('none'),
      batchSize: positiveInt.default(200),
      flushIntervalMs: positiveInt.default(200),
      bufferSize: positiveInt.default(20_000),
      /** Records kept in memory at most while neither the store nor the spool takes them; then no verdict is served (503). */
      maxHeld: positiveInt.default(100_000),
      replayIntervalMs: positiveInt.default(2_000),
      /** Journal each record before its verdict is answered (kill -9 loses nothing served); false: buffered only, as before 0.2. */
      journal: z.boolean().default(true),
      /** fdatasync the journal before a verdict is answered: records survive a power loss, not only a kill -9. */
      fsync: z.boolean().default(false),
      /** Records per journal segment (a segment is deleted once all its records are stored). */
      segmentRecords: positiveInt.default(4_096),
    })
    .prefault({}),
  cache: z
    .object({
      /** memory (the default), redis (REDIS_URL; the default when it is set) or none. */
      kind: z.enum(['memory', 'redis', 'none']).optional(),
      redisUrl: z.string().min(1).optional(),
      ttlSeconds: positiveInt.default(3_600),
      maxEntries: positiveInt.default(10_000),
      /** A cache slower than this counts as a miss; it never fails a request. */
      timeoutMs: positiveInt.default(50),
    })
    .prefault({}),
  shutdown: z
    .object({
      /** How long readiness is false before the listener closes (load balancers notice). */
      drainDelayMs: z.coerce.number().int().min(0).default(0),
      /** The most a graceful shutdown may take before the process exits anyway. */
      timeoutMs: positiveInt.default(10_000),
    })
    .prefault({}),
});

type ParsedInstance = z.output<typeof instanceSchema>;

/** An instance's configuration, resolved: what it runs with. */
export type InstanceConfig = Omit<ParsedInstance, 'engine' | 'policy' | 'audit' | 'cache' | 'auth' | 'routerSecret'> & {
  engine: EngineConfig;
  auth: AuthConfig;
  /** The router's secret for mirrored copies: one, or the new and the old during a rotation. */
  routerSecret: SecretSource | undefined;
  policy: Policy;
  audit: ParsedInstance['audit'] & { sink: 'sqlite' | 'postgres' | 'none' };
  cache: ParsedInstance['cache'] & { kind: 'memory' | 'redis' | 'none' };
  /** OpenTelemetry: where spans go; null, no tracing. */
  tracing?: TracingSettings | null;
};

/** Flags the CLI accepts for `serve`; each overrides the file and the environment. */
export interface InstanceFlags {
  config?: string;
  host?: string;
  port?: string;
  engine?: string;
  engineUrl?: string;
  engineModel?: string;
  color?: string;
  serviceVersion?: string;
  dataDir?: string;
  policy?: string;
  logLevel?: string;
  logFormat?: string;
  apiKeys?: string;
  insecure?: boolean;
}

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return {
    host: env.GUARDGATE_HOST,
    port: env.GUARDGATE_PORT,
    color: env.GUARDGATE_COLOR,
    version: env.GUARDGATE_VERSION,
    policy: env.GUARDGATE_POLICY,
    logLevel: env.GUARDGATE_LOG_LEVEL,
    logFormat: env.GUARDGATE_LOG_FORMAT,
    dataDir: env.GUARDGATE_DATA_DIR,
    audit: {
      databaseUrl: env.DATABASE_URL,
      sink: env.GUARDGATE_AUDIT_SINK,
      text: env.GUARDGATE_AUDIT_TEXT,
      schema: env.GUARDGATE_AUDIT_SCHEMA,
    },
    cache: { redisUrl: env.REDIS_URL, kind: env.GUARDGATE_CACHE },
    engine: {
      kind: env.GUARDGATE_ENGINE,
      baseUrl: env.GUARDGATE_ENGINE_URL,
      model: env.GUARDGATE_ENGINE_MODEL,
      apiKey: env.GUARDGATE_ENGINE_API_KEY ? { env: 'GUARDGATE_ENGINE_API_KEY' } : undefined,
      timeoutMs: env.GUARDGATE_ENGINE_TIMEOUT_MS,
      fallback: env.GUARDGATE_ENGINE_FALLBACK,
    },
    auth: authFromEnvironment(env),
  };
}

function fromFlags(flags: InstanceFlags): Record<string, unknown> {
  return {
    host: flags.host,
    port: flags.port,
    color: flags.color,
    version: flags.serviceVersion,
    policy: flags.policy,
    logLevel: flags.logLevel,
    logFormat: flags.logFormat,
    dataDir: flags.dataDir,
    engine: { kind: flags.engine, baseUrl: flags.engineUrl, model: flags.engineModel },
    auth: { apiKeysFile: flags.apiKeys },
    insecure: flags.insecure,
  };
}

/** Engine settings that belong to another kind are dropped when a later source switches the kind. */
function engineOf(merged: Record<string, unknown>): unknown {
  const engine = merged.engine as Record<string, unknown> | undefined;
  if (engine === undefined || Object.values(engine).every((v) => v === undefined)) return undefined;
  if (engine.kind === 'lexicon') return { kind: 'lexicon' };
  if (engine.kind === 'llamacpp') {
    const { baseUrl: _url, ...llamacpp } = engine;
    return llamacpp;
  }
  return engine;
}

/**
 * Load the instance configuration.
 * @example loadInstanceConfig({ port: '18080', engine: 'lexicon' }, process.env)
 */
export function loadInstanceConfig(flags: InstanceFlags, env: NodeJS.ProcessEnv): InstanceConfig {
  const file = flags.config ?? env.GUARDGATE_CONFIG;
  const merged = merge(file ? readYamlFile(file) : {}, fromEnvironment(env), fromFlags(flags));
  merged.engine = engineOf(merged);
  // GUARDGATE_ROUTER_SECRET is the default, not an override: a file naming its own (a pod's mounted Secret, re-read
  // during a rotation) keeps it.
  if (merged.routerSecret === undefined && env.GUARDGATE_ROUTER_SECRET)
    merged.routerSecret = { env: 'GUARDGATE_ROUTER_SECRET' };
  const parsed = validate(instanceSchema, merged, file ?? 'flags and environment');
  // PostgreSQL and Redis are the defaults once their URLs are given.
  const sink = parsed.audit.sink ?? (parsed.audit.databaseUrl ? 'postgres' : 'sqlite');
  const kind = parsed.cache.kind ?? (parsed.cache.redisUrl ? 'redis' : 'memory');
  if (sink === 'postgres' && !parsed.audit.databaseUrl)
    throw new ConfigError('audit.sink postgres needs audit.databaseUrl (or DATABASE_URL)');
  if (kind === 'redis' && !parsed.cache.redisUrl)
    throw new ConfigError('cache.kind redis needs cache.redisUrl (or REDIS_URL)');
  if (!isLoopback(parsed.host) && allowsAnonymous(parsed.auth) && !parsed.insecure) {
    throw new ConfigError(
      `refusing to serve /predict without authentication on ${parsed.host}: configure auth.jwt or auth.apiKeysFile (see docs/security.md), or pass --insecure`,
    );
  }
  return {
    ...parsed,
    engine: resolveEngine(parsed.engine, env),
    auth: resolveAuth(parsed.auth, env),
    routerSecret: parsed.routerSecret === undefined ? undefined : secretSource(parsed.routerSecret, env),
    audit: { ...parsed.audit, sink },
    cache: { ...parsed.cache, kind },
    tracing: tracingConfig(env, 'guardgate-instance'),
  } as InstanceConfig;
}
