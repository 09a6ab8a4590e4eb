// The router's configuration: defaults, then a YAML file, then environment variables, then flags.
import { tracingConfig } from './tracing.js';
import { versionSchema } from './version.js';
import { z } from 'zod';
import { positiveInt } from './schema-parts.js';
import type { RouterSettings } from '../router/settings.js';
import { authFromEnvironment, authSchema, resolveAuth, type AuthConfig } from './auth.js';
import { merge, readYamlFile, validate } from './load.js';
import { openFilesLimit, publicConnectionBudget } from '../shared/fd-limit.js';
import { resolveSecret, secretRefSchema } from './secret.js';
import { COLORS } from '../vocabulary/colors.js';

const port = z.coerce.number().int().min(0).max(65535);
const urlList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value,
  z.array(z.url({ protocol: /^https?$/ })),
);
const poolSchema = z
  .object({ version: versionSchema.nullable().default(null), instances: urlList.default([]) })
  .prefault({});
const keyPairSchema = z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict();

/** The router's (and `up`'s) configuration. */
export const routerSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8080),
  previewPort: port.nullable().default(null),
  /** The preview listener reaches the standby without credentials: loopback by default, whatever `host` is. */
  previewHost: z.string().min(1).default('127.0.0.1'),
  admin: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8081),
      /** Bearer token for /admin/*; when unset, one is made and written to the data directory. */
      token: z.string().min(16, 'the admin token must be at least 16 characters').optional(),
      /** HTTPS for the admin API; with clientCaFile, only clients with a certificate that CA signed get in. */
      tls: keyPairSchema
        .extend({ clientCaFile: z.string().min(1).optional() })
        .strict()
        .optional(),
    })
    .prefault({}),
  /**
   * HTTPS on the public (and preview) listener, reloaded when the files change. `caFile`: the (private) CA that
   * signed `certFile`, which the gates' own requests to this listener trust; a self-signed `certFile` is trusted as is.
   */
  tls: keyPairSchema
    .extend({ caFile: z.string().min(1).optional() })
    .strict()
    .nullable()
    .default(null),
  /** Shared with the instances (a reference): marks mirrored copies. Unset: no mirroring. */
  routerSecret: secretRefSchema.optional(),
  /** Who may call the API (handed to the instances by `up`), use the preview header and the admin API. */
  auth: authSchema,
  /** `up` only: serve /predict with no credentials on a non-loopback address anyway. */
  insecure: z.boolean().default(false),
  /** `up` only: how long the controller rides out an unreachable store before it fails the release in progress. */
  storeOutageSeconds: positiveInt.default(60),
  /**
   * `up` only: every release transition and operator switch posted here, signed with HMAC-SHA256 of the
   * secret (x-guardgate-signature), retried with backoff; it never holds up a release.
   */
  changeWebhook: z
    .object({
      url: z.url({ protocol: /^https?$/ }),
      secret: secretRefSchema,
      timeoutMs: positiveInt.default(5_000),
      attempts: positiveInt.max(20).default(6),
      maxQueued: positiveInt.default(1_000),
      backoffMs: positiveInt.default(1_000),
    })
    .strict()
    .optional(),
  /** `up` only: the secrets release specs may name (environment variables, directories of secret files). */
  releaseSecrets: z
    .object({
      env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
      dirs: z.array(z.string().min(1)).default([]),
    })
    .strict()
    .prefault({}),
  timeouts: z
    .object({
      headersMs: positiveInt.default(10_000),
      requestMs: positiveInt.default(60_000),
      keepAliveMs: positiveInt.default(65_000),
    })
    .prefault({}),
  /** `standby`: while the active color has no healthy instance and the kept standby has, serve from it (counted, logged). */
  failover: z.enum(['none', 'standby']).default('none'),
  /** Client connections the public (and preview) listener holds at most; default: what the file descriptor limit leaves. */
  maxConnections: positiveInt.optional(),
  /** Client connections one address may hold at most (trusted proxies exempt); default a quarter of maxConnections, at least 64. */
  maxConnectionsPerClient: positiveInt.optional(),
  /** `up` only: where environments run: processes on this machine, or Deployments on Kubernetes. */
  driver: z.enum(['local', 'kubernetes']).default('local'),
  /**
   * `up` only: what moves traffic between colors: the router (`up`'s public port), or, with driver kubernetes,
   * the selector of a Service `<app>` (clients reach the Service; previews go through `<app>-preview`).
   */
  traffic: z.enum(['router', 'service-selector', 'gateway-api']).default('router'),
  /** `up` only, with driver kubernetes. */
  kubernetes: z
    .object({
      /** A kubeconfig file; unset: KUBECONFIG, the in-cluster service account, or ~/.kube/config. */
      kubeconfig: z.string().min(1).optional(),
      namespace: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
        .default('default'),
      /** Name prefix and `app` label of every object. */
      app: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
        .max(40)
        .default('guardgate'),
      /** The Guardgate image the pods run. */
      image: z.string().min(1).default('guardgate:latest'),
      port: port.default(8080),
      terminationGraceSeconds: positiveInt.default(30),
      progressDeadlineSeconds: positiveInt.default(600),
      readyTimeoutSeconds: positiveInt.default(300),
      gpus: z.coerce.number().int().min(0).optional(),
      resources: z
        .object({
          requests: z.record(z.string(), z.string()).optional(),
          limits: z.record(z.string(), z.string()).optional(),
        })
        .strict()
        .optional(),
      nodeSelector: z.record(z.string(), z.string()).optional(),
      tolerations: z.array(z.record(z.string(), z.unknown())).optional(),
      /** Who this controller is, for the Lease that lets one controller act at a time (a pod's name). */
      identity: z.string().min(1).optional(),
      /** A Secret with `api-keys.json` (guardgate keys add --file) that every pod mounts: the API keys instances accept. */
      apiKeysSecret: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
        .optional(),
      /** The controller Lease (client-go's leader election): others may take it once unchanged this long... */
      leaseSeconds: positiveInt.default(15),
      /** ...its holder renews this often... */
      renewSeconds: positiveInt.default(5),
      /** ...and stops acting when it could not renew for this long (default: two thirds of leaseSeconds). */
      renewDeadlineSeconds: z.coerce.number().positive().optional(),
      /** traffic gateway-api: the Gateway the HTTPRoute attaches to, and the URL clients (and the gates) reach it at. */
      gateway: z
        .object({
          name: z.string().min(1),
          namespace: z.string().min(1).optional(),
          url: z.url({ protocol: /^https?$/ }),
          hostnames: z.array(z.string().min(1)).optional(),
        })
        .strict()
        .optional(),
      /** traffic service-selector: for how long old pods close their connections after a switch (0: not asked). */
      reconnectSeconds: z.coerce.number().min(0).max(3_600).default(10),
      /** How long a traffic change may take to reach the cluster (EndpointSlices, the route's status, answers from the new color): past it the step fails. */
      propagationTimeoutSeconds: positiveInt.default(30),
      /**
       * How long a credential rotation waits for every ready pod to accept the new values (the kubelet refreshes a
       * mounted Secret within its sync period and cache TTL: about a minute each by default). At most 240: the CLI
       * waits 300 s for the answer.
       */
      rotationTimeoutSeconds: positiveInt.max(240).default(180),
    })
    .strict()
    .refine(
      (k) =>
        k.renewSeconds < (k.renewDeadlineSeconds ?? (k.leaseSeconds * 2) / 3) &&
        (k.renewDeadlineSeconds ?? 0) < k.leaseSeconds,
      {
        message:
          'the Lease needs renewSeconds < renewDeadlineSeconds (default: two thirds of leaseSeconds) < leaseSeconds, so that a holder stops acting before another may take over',
      },
    )
    .prefault({}),
  /**
   * Router processes serving the data path (node:cluster) on the one port; the primary keeps the admin API
   * and reports a change done when every worker has applied it. 1: a single process.
   */
  workers: positiveInt.max(64).default(1),
  dataDir: z.string().min(1).default('.guardgate'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  active: z.enum(COLORS).default('blue'),
  pools: z.object({ blue: poolSchema, green: poolSchema }).prefault({}),
  bodyLimitBytes: positiveInt.default(2 * 1_048_576),
  /**
   * Addresses of proxies in front of the router (a load balancer) whose X-Forwarded-For is passed on; from any other
   * client it is replaced by the client's address (a client cannot choose the address its rate limit counts).
   */
  trustProxy: z.array(z.string().min(1)).default([]),
  upstream: z
    .object({
      timeoutMs: positiveInt.default(30_000),
      attemptTimeoutMs: positiveInt.default(10_000),
      connections: positiveInt.default(128),
      maxInFlight: positiveInt.default(512),
    })
    .prefault({}),
  health: z
    .object({
      intervalMs: positiveInt.default(1_000),
      timeoutMs: positiveInt.default(500),
      path: z.string().startsWith('/').default('/readyz'),
      unhealthyThreshold: positiveInt.default(2),
      healthyThreshold: positiveInt.default(2),
    })
    .prefault({}),
  retry: z
    .object({
      ratio: z.coerce.number().min(0).max(1).default(0.2),
      minPerSecond: z.coerce.number().min(0).default(10),
      windowSeconds: positiveInt.default(10),
    })
    .prefault({}),
  mirror: z.object({ maxInFlight: positiveInt.default(64) }).prefault({}),
});

/** The router's configuration, resolved: what it runs with. */
export type RouterConfig = Omit<z.output<typeof routerSchema>, 'routerSecret' | 'auth'> &
  RouterSettings & { auth: AuthConfig };

/** Connections the public listener holds at most, and one client address. */
function connectionBudgets(parsed: ParsedRouterConfig): { maxConnections: number; maxConnectionsPerClient: number } {
  const maxConnections = parsed.maxConnections ?? publicConnectionBudget(openFilesLimit());
  return {
    maxConnections,
    maxConnectionsPerClient: parsed.maxConnectionsPerClient ?? Math.max(64, Math.floor(maxConnections / 4)),
  };
}

/** Resolve the secrets of a parsed router configuration: what the router runs with. */
export function resolveRouterConfig(parsed: ParsedRouterConfig, env: NodeJS.ProcessEnv): RouterConfig {
  return {
    ...parsed,
    ...connectionBudgets(parsed),
    routerSecret: parsed.routerSecret === undefined ? null : resolveSecret(parsed.routerSecret, env),
    auth: resolveAuth(parsed.auth, env),
    tracing: tracingConfig(env, 'guardgate-router'),
  };
}

/** The command-line flags of `router` and `up`. */
export interface RouterFlags {
  config?: string;
  host?: string;
  port?: string;
  previewPort?: string;
  adminHost?: string;
  adminPort?: string;
  adminToken?: string;
  dataDir?: string;
  active?: string;
  blue?: string;
  green?: string;
  blueVersion?: string;
  greenVersion?: string;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  insecure?: boolean;
  workers?: string;
  driver?: string;
  traffic?: string;
  kubeconfig?: string;
  namespace?: string;
  image?: string;
}

/** The router's configuration, parsed, secrets still by reference. */
export type ParsedRouterConfig = z.output<typeof routerSchema>;

/** Defaults, file, environment and flags, validated; secrets still references (what `up` hands its instances). */
export function parseRouterConfig(flags: RouterFlags, env: NodeJS.ProcessEnv): ParsedRouterConfig {
  const file = flags.config ?? env.GUARDGATE_ROUTER_CONFIG;
  const fromEnv = {
    port: env.GUARDGATE_PORT,
    dataDir: env.GUARDGATE_DATA_DIR,
    logLevel: env.GUARDGATE_LOG_LEVEL,
    admin: { port: env.GUARDGATE_ADMIN_PORT, token: env.GUARDGATE_ADMIN_TOKEN },
    routerSecret: env.GUARDGATE_ROUTER_SECRET ? { env: 'GUARDGATE_ROUTER_SECRET' } : undefined,
    auth: authFromEnvironment(env),
    storeOutageSeconds: env.GUARDGATE_STORE_OUTAGE_SECONDS,
    workers: env.GUARDGATE_ROUTER_WORKERS,
    releaseSecrets: {
      env: env.GUARDGATE_RELEASE_SECRETS?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
  };
  const fromFlags = {
    host: flags.host,
    port: flags.port,
    previewPort: flags.previewPort,
    dataDir: flags.dataDir,
    logLevel: flags.logLevel,
    active: flags.active,
    admin: { host: flags.adminHost, port: flags.adminPort, token: flags.adminToken },
    pools: {
      blue: { instances: flags.blue, version: flags.blueVersion },
      green: { instances: flags.green, version: flags.greenVersion },
    },
    tls:
      flags.tlsCert || flags.tlsKey || flags.tlsCa
        ? { certFile: flags.tlsCert, keyFile: flags.tlsKey, caFile: flags.tlsCa }
        : undefined,
    insecure: flags.insecure,
    workers: flags.workers,
    driver: flags.driver,
    traffic: flags.traffic,
    kubernetes: {
      kubeconfig: flags.kubeconfig ?? env.KUBECONFIG,
      namespace: flags.namespace ?? env.GUARDGATE_K8S_NAMESPACE,
      image: flags.image,
      identity: env.GUARDGATE_K8S_IDENTITY,
    },
  };
  return validate(
    routerSchema,
    merge(file ? readYamlFile(file) : {}, fromEnv, fromFlags),
    file ?? 'flags and environment',
  );
}

/** Parse and resolve the router's configuration from flags, file and environment. */
export function loadRouterConfig(flags: RouterFlags, env: NodeJS.ProcessEnv): RouterConfig {
  return resolveRouterConfig(parseRouterConfig(flags, env), env);
}
