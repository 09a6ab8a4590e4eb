// `guardgate up`: the whole product. The router on the public port, the admin API (router, controller and
// audit) on the admin port (loopback unless told otherwise), the controller with its driver (processes on this
// machine, or Deployments on Kubernetes) and its traffic (the router, a Service selector or a Gateway API
// route), and the environment that was active last time (or blue, lexicon, one replica, on a first start).
// Local instances always listen on loopback; only the router's public listener follows --host.
import { existsSync, readFileSync, writeFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sha256Hex } from '../auth/api-keys.js';
import { allowsAnonymous, isLoopback, type AuthSettings } from '../config/auth.js';
import { keptSecret } from '../config/data-dir-secret.js';
import type { Credentials, KeptCredentials } from '../drivers/kubernetes/credentials.js';
import type { KubernetesDriver } from '../drivers/kubernetes/driver.js';
import type { CredentialRotator } from '../drivers/kubernetes/rotation.js';
import { ConfigError } from '../config/load.js';
import { resolveRouterConfig, type ParsedRouterConfig } from '../config/router.js';
import { startDataPath, withAdmin, type RunningRouter } from '../router/run.js';
import { lockDataDir } from './data-dir-lock.js';
import { apiKeysFile, controllerFile } from './files.js';
import { openAuditReader } from '../store/open.js';
import type { FastifyInstance } from 'fastify';
import { EVIDENCE_HEADER } from '../shared/headers.js';
import { COLORS, otherColor } from '../vocabulary/colors.js';
import { controllerSwitch, registerControllerRoutes, registerRotationRoute } from '../release/admin.js';
import { registerGateEndpoint, type GateEndpointOptions } from '../gates/endpoint.js';
import { Gauge, Registry } from 'prom-client';
import { resolveSecret } from '../config/secret.js';
import { ChangeWebhook, webhookListener } from '../release/change-webhook.js';
import { ListenedStore, type StoreListener } from '../release/store-listeners.js';
import { ReleaseTracer } from '../release/release-trace.js';
import { LiveSampler } from './live.js';
import { openTracing } from '../shared/tracing.js';
import { tracingConfig } from '../config/tracing.js';
import { upStoresFrom } from '../config/up-stores.js';
import { BUILD } from '../shared/build.js';
import type { ControllerStore } from '../release/store.js';
import { Controller } from '../release/controller.js';
import { environmentOf } from '../release/environment.js';
import type { ReleaseSpec } from '../release/spec.js';
import { controllerMetrics } from '../release/metrics.js';
import { routerTraffic, type Traffic } from '../release/traffic.js';
import { readyInstanceUrl, type Driver } from '../drivers/driver.js';
import { untilServing } from '../release/serving.js';
import { LocalDriver } from '../drivers/local.js';
import { ADMIN_DIGEST_ENV, GATE_DIGEST_ENV, kubernetesPodConfig } from '../drivers/kubernetes/pod-config.js';
import { SqliteControllerStore } from '../release/store.js';
import { ResilientStore } from '../release/store-resilient.js';
import { controllerTarget } from './target.js';

/** The kubeconfig `up` was given (YAML), or none: the in-cluster service account, or ~/.kube/config. */
const kubeconfigText = (k8s: { kubeconfig?: string | undefined }): string | undefined =>
  k8s.kubeconfig === undefined ? undefined : readFileSync(k8s.kubeconfig, 'utf8');

/** What `guardgate up` is started with (parsed at the edge). */
export interface UpOptions {
  /** The router's configuration (public and admin listeners, TLS, auth), as parsed: secrets are references. */
  router: ParsedRouterConfig;
  /** Passed to every instance: DATABASE_URL, REDIS_URL, and the variables secret references name. */
  instanceEnv: NodeJS.ProcessEnv;
  logLevel: string;
  /** Tests shorten the router's health checks. */
  healthIntervalMs?: number;
  /** The environment to start with when none was ever deployed (blue); default: the embedded rules, version initial. */
  initial?: ReleaseSpec | undefined;
  /** Driver kubernetes: this controller lost the Lease and must stop acting (the command exits). */
  onLeadershipLost?: (why: string) => void;
  /** Aborted when the command is stopped while it starts: it gives up waiting for the Lease (Kubernetes). */
  signal?: AbortSignal;
}

/** A running `guardgate up`: its router, controller, URLs and admin token. */
export interface RunningUp {
  url: string;
  adminUrl: string;
  tokenFile: string | null;
  token: string;
  /** Who may call /predict: 'anyone' (loopback, no credentials configured) or the methods in force. */
  access: string;
  controller: Controller;
  router: RunningRouter;
  driver: Driver;
  close(): Promise<void>;
}

export { apiKeysFile, controllerFile } from './files.js';

/**
 * The auth section `up` runs with: the data directory's API key file, and anonymous access only where it
 * was asked for, or on loopback with no credentials configured at start.
 */
function upAuth(config: ParsedRouterConfig): AuthSettings {
  const keysFile = config.auth.apiKeysFile ?? apiKeysFile(config.dataDir);
  const auth = { ...config.auth, apiKeysFile: keysFile };
  const anonymous =
    config.auth.anonymous ??
    allowsAnonymous({ ...config.auth, apiKeysFile: existsSync(keysFile) ? keysFile : undefined });
  if (anonymous && !isLoopback(config.host) && !config.insecure) {
    throw new ConfigError(
      `refusing to serve /predict without authentication on ${config.host}: add an API key (guardgate keys add NAME) or configure auth.jwt (docs/security.md), or pass --insecure`,
    );
  }
  return { ...auth, anonymous };
}

/** A Redis URL (it may carry a password) that came from the environment stays there: instances read it themselves. */
const withoutEnvironmentValues = (
  rateLimit: AuthSettings['rateLimit'],
  env: NodeJS.ProcessEnv,
): AuthSettings['rateLimit'] =>
  rateLimit.redisUrl !== undefined && rateLimit.redisUrl === env.GUARDGATE_RATE_LIMIT_REDIS_URL
    ? { ...rateLimit, redisUrl: undefined }
    : rateLimit;

const describeAccess = (auth: AuthSettings): string =>
  auth.anonymous
    ? 'anyone who can reach it (no credentials configured)'
    : ['API keys', ...(auth.jwt ? ['JWT'] : [])].join(' or ');

/** What pods need from up's environment: the router secret, the stores, the audit text policy; nothing else of this process. */
const POD_ENV = [
  'GUARDGATE_ROUTER_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
  'GUARDGATE_AUDIT_TEXT',
  'GUARDGATE_AUDIT_SCHEMA',
  'GUARDGATE_RATE_LIMIT_REDIS_URL',
  'GUARDGATE_ENGINE_API_KEY',
];

/** The Kubernetes driver as up's configuration asks: pods on the cluster network, configured like local instances. */
async function kubernetesDriver(
  parsed: ParsedRouterConfig,
  auth: AuthSettings,
  token: string,
  kept: KeptCredentials,
  instanceEnv: NodeJS.ProcessEnv,
  logLevel: string,
  log: Logger,
): Promise<KubernetesDriver> {
  const k8s = parsed.kubernetes;
  const { KubernetesDriver } = await import('../drivers/kubernetes/driver.js');
  const { podCredentialEnv } = await import('../drivers/kubernetes/rotation.js');
  const names = [...POD_ENV, ...parsed.releaseSecrets.env];
  const secretEnv = {
    ...Object.fromEntries(
      names.filter((name) => instanceEnv[name] !== undefined).map((name) => [name, instanceEnv[name]!]),
    ),
    [ADMIN_DIGEST_ENV]: sha256Hex(token),
    // The gate token's digest and the router secret: both values while a rotation is under way.
    ...podCredentialEnv(kept),
  };
  return KubernetesDriver.create(
    {
      kubeconfig: kubeconfigText(k8s),
      namespace: k8s.namespace,
      app: k8s.app,
      image: k8s.image,
      port: k8s.port,
      // References only, as `guardgate k8s render` writes them: the API key file of this process is not in the
      // pods; they read the one of kubernetes.apiKeysSecret, when there is one.
      instanceConfig: kubernetesPodConfig(
        { ...auth, rateLimit: withoutEnvironmentValues(auth.rateLimit, instanceEnv) },
        k8s.apiKeysSecret,
      ),
      apiKeysSecret: k8s.apiKeysSecret,
      secretEnv,
      terminationGraceSeconds: k8s.terminationGraceSeconds,
      progressDeadlineSeconds: k8s.progressDeadlineSeconds,
      readyTimeoutMs: k8s.readyTimeoutSeconds * 1000,
      stopTimeoutMs: (k8s.terminationGraceSeconds + 10) * 1000,
      crashLoopLimit: 3,
      gpus: k8s.gpus,
      resources: k8s.resources,
      nodeSelector: k8s.nodeSelector,
      tolerations: k8s.tolerations,
      logLevel,
    },
    log,
  );
}

/** The Lease `<app>-controller`, held: resolves once this controller may act. */
async function controllerLease(
  parsed: ParsedRouterConfig,
  log: Logger,
  onLost: ((why: string) => void) | undefined,
  signal: AbortSignal | undefined,
) {
  const k8s = parsed.kubernetes;
  const { kubernetesApi } = await import('../drivers/kubernetes/api.js');
  const { LeaderLease } = await import('../drivers/kubernetes/lease.js');
  const api = kubernetesApi(kubeconfigText(k8s), 0);
  const lease = new LeaderLease(
    api,
    {
      namespace: k8s.namespace,
      name: `${k8s.app}-controller`,
      identity: k8s.identity ?? `${hostname()}-${process.pid}`,
      leaseMs: k8s.leaseSeconds * 1000,
      renewMs: k8s.renewSeconds * 1000,
      ...(k8s.renewDeadlineSeconds === undefined ? {} : { renewDeadlineMs: k8s.renewDeadlineSeconds * 1000 }),
    },
    log,
  );
  await lease.acquire(onLost ?? ((why) => log.error({ why }, 'controller lease lost')), signal);
  return lease;
}

/**
 * The gate token digests the controller's own router accepts on Kubernetes, one a line: a file of the data
 * directory, rewritten with the pods' Secret while the credentials are rotated (the router reads it again when it
 * changes), so that it accepts the old token and the new as long as the pods do, and then the new alone.
 */
function writeRouterGateDigests(dataDir: string, digests: string): string {
  const file = join(dataDir, 'router-gate-digests');
  // Whole or not at all: the router never reads a file half written.
  const next = `${file}.next`;
  rmSync(next, { force: true });
  writeFileSync(next, `${digests}\n`, { mode: 0o600 });
  renameSync(next, file);
  return file;
}

/** The rotation of the pods' credentials (drivers/kubernetes/rotation.ts), with this up's parts. */
async function credentialRotator(
  parsed: ParsedRouterConfig,
  driver: KubernetesDriver,
  store: ControllerStore,
  controller: Controller,
  inUse: { gateToken: string },
  pendingSince: string | undefined,
  log: Logger,
): Promise<CredentialRotator> {
  const k8s = parsed.kubernetes;
  const { kubernetesApi } = await import('../drivers/kubernetes/api.js');
  const { CredentialRotator } = await import('../drivers/kubernetes/rotation.js');
  return new CredentialRotator(
    {
      api: kubernetesApi(kubeconfigText(k8s)),
      namespace: k8s.namespace,
      app: k8s.app,
      // The controller's own router accepts what the pods accept, at the same steps.
      writePodSecret: async (values) => {
        const digests = values[GATE_DIGEST_ENV];
        if (digests !== undefined) writeRouterGateDigests(parsed.dataDir, digests);
        await driver.writeSecretEnv(values);
      },
      pods: () => {
        const deployed = COLORS.flatMap((color) => {
          const deployment = driver.describe(color);
          return deployment === null ? [] : [deployment];
        });
        return { colors: deployed.map((d) => d.color), pods: deployed.flatMap((d) => d.instances) };
      },
      accepts: async (url, token) => {
        try {
          const response = await fetch(`${url}/whoami`, {
            headers: { authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(2_000),
          });
          const known = response.ok && ((await response.json()) as { method?: string }).method === 'gate_token';
          return {
            ok: known,
            answer: response.ok ? (known ? 'accepted' : 'not known there') : `HTTP ${response.status}`,
            reached: true,
          };
        } catch (error) {
          return { ok: false, answer: (error as Error).message, reached: false };
        }
      },
      use: (values) => {
        inUse.gateToken = values['gate-token'];
      },
      // The release being started is seen at once (the rotator has marked itself first); a recorded one in the store.
      blocked: async () =>
        controller.releaseStarting || (await store.openRelease()) !== null
          ? 'a release is open: rotate the credentials once it has ended (or abort it)'
          : undefined,
      record: ({ actor, outcome, report, reason }) =>
        store.recordAction({
          actor,
          action: 'credential_rotation',
          detail:
            report === undefined
              ? { outcome, reason }
              : {
                  outcome,
                  pods: report.pods,
                  unverified: report.unverified,
                  resumed: report.resumed,
                  seconds: report.seconds,
                },
        }),
      deadlineMs: k8s.rotationTimeoutSeconds * 1000,
      pollMs: 1_000,
      kubeletSyncMs: KUBELET_SYNC_MS,
      log: log.child({ component: 'credential-rotation' }),
    },
    pendingSince,
  );
}

/**
 * How long a pod that cannot be asked (not ready, not answering) is given for its kubelet to refresh its mounted
 * Secret: the kubelet's default sync period (1 min) and its cache's propagation, within the rotation's deadline.
 */
const KUBELET_SYNC_MS = 90_000;

/** The rotation under way, as a gauge an alert reads: when it began (Unix time), 0 when none is. */
function rotationPendingGauge(registry: Registry, pendingSince: () => string | undefined): void {
  new Gauge({
    name: 'guardgate_credential_rotation_pending_since_timestamp_seconds',
    help: 'When the credential rotation under way began (Unix time; old and new values both accepted since), 0 when none is',
    registers: [registry],
    collect() {
      const since = pendingSince();
      this.set(since === undefined ? 0 : Date.parse(since) / 1000);
    },
  });
}

/** Why this up cannot rotate credentials, said to whoever asks. */
function rotationUnavailable(parsed: ParsedRouterConfig): string {
  if (parsed.driver !== 'kubernetes')
    return 'credential rotation runs on Kubernetes; locally, stop up, delete router-secret and gate-token from its data directory and start it again (its instances start with the new values)';
  return "credential rotation needs the Service or a Gateway as the front door (traffic service-selector or gateway-api): the router's workers keep the router secret they started with";
}

/** The controller credentials the cluster keeps (see drivers/kubernetes/credentials.ts), seeded with this data directory's. */
async function kubernetesCredentials(
  parsed: ParsedRouterConfig,
  local: Credentials,
  log: Logger,
): Promise<KeptCredentials> {
  const k8s = parsed.kubernetes;
  const { kubernetesApi } = await import('../drivers/kubernetes/api.js');
  const { clusterCredentials } = await import('../drivers/kubernetes/credentials.js');
  const api = kubernetesApi(kubeconfigText(k8s));
  return clusterCredentials(api, k8s.namespace, k8s.app, local, log);
}

/**
 * Traffic on Kubernetes: the selector of the Service `<app>`, or an HTTPRoute on the operator's Gateway, is
 * the front door; `up`'s router stays for the admin API.
 */
async function kubernetesTraffic(
  parsed: ParsedRouterConfig,
  token: string,
  driver: Driver,
  log: Logger,
): Promise<Traffic> {
  if (parsed.driver !== 'kubernetes') throw new ConfigError(`traffic ${parsed.traffic} needs driver kubernetes`);
  const k8s = parsed.kubernetes;
  const { kubernetesApi } = await import('../drivers/kubernetes/api.js');
  const api = kubernetesApi(kubeconfigText(k8s));
  if (parsed.traffic === 'gateway-api') {
    if (k8s.gateway === undefined)
      throw new ConfigError(
        'traffic gateway-api needs kubernetes.gateway: { name, url } (the Gateway the route attaches to, and where clients reach it)',
      );
    const { GatewayApiTraffic } = await import('../drivers/kubernetes/gateway.js');
    return GatewayApiTraffic.create(
      api,
      k8s,
      {
        gateway: k8s.gateway,
        gatewayUrl: k8s.gateway.url,
        adminToken: token,
        propagationTimeoutMs: k8s.propagationTimeoutSeconds * 1000,
      },
      log,
      'blue',
    );
  }
  const { ServiceSelectorTraffic } = await import('../drivers/kubernetes/traffic.js');
  return ServiceSelectorTraffic.create(
    api,
    k8s,
    {
      adminToken: token,
      reconnectSeconds: k8s.reconnectSeconds,
      propagationTimeoutMs: k8s.propagationTimeoutSeconds * 1000,
      // A canary by replica ratio sizes the candidate through the driver (which waits for its pods).
      scale: (color, replicas) => driver.scale(color, replicas),
    },
    log,
    'blue',
  );
}

/** The change webhook of the configuration, with its secret resolved (at least 16 characters). */
function changeWebhook(
  parsed: ParsedRouterConfig,
  env: NodeJS.ProcessEnv,
  log: Logger,
  registry: Registry,
): ChangeWebhook | undefined {
  const settings = parsed.changeWebhook;
  if (settings === undefined) return undefined;
  const url = new URL(settings.url);
  if (url.protocol !== 'https:' && !isLoopback(url.hostname))
    throw new ConfigError(`changeWebhook.url must be https (change records carry release evidence): ${url.origin}`);
  const secret = resolveSecret(settings.secret, env);
  if (secret.length < 16) throw new ConfigError('changeWebhook.secret must be at least 16 characters');
  return new ChangeWebhook({ ...settings, secret }, log.child({ component: 'change-webhook' }), registry);
}

/** The audit log's text policy, as instances are told it: what gate evidence may keep of users' text. */

/** Start `guardgate up`: router, admin API, controller, driver, traffic and stores, composed. */
export async function startUp(options: UpOptions, log: Logger): Promise<RunningUp> {
  mkdirSync(options.router.dataDir, { recursive: true });
  // One up per data directory: taken before anything else, given back when it closes or fails to start.
  const unlock = lockDataDir(options.router.dataDir);
  try {
    const up = await startLocked(options, log);
    return {
      ...up,
      close: async () => {
        try {
          await up.close();
        } finally {
          unlock();
        }
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}

/** up, once its data directory is its own. */
async function startLocked(options: UpOptions, log: Logger): Promise<RunningUp> {
  const parsed = options.router;
  const admin = keptSecret('admin-token', parsed.admin.token, parsed.dataDir);
  const local: Credentials = {
    'admin-token': admin.value,
    // Mirrored copies carry the router secret; instances get it by environment, never in a file.
    'router-secret': keptSecret('router-secret', undefined, parsed.dataDir).value,
    // What gate traffic carries to candidates: never the admin token (a candidate could record it).
    'gate-token': keptSecret('gate-token', undefined, parsed.dataDir).value,
  };
  // On Kubernetes one controller acts at a time: wait for the Lease before touching anything. Its credentials
  // are the cluster's (the pods hold their digests), whatever this pod's data directory held.
  const lease =
    parsed.driver === 'kubernetes'
      ? await controllerLease(parsed, log, options.onLeadershipLost, options.signal)
      : undefined;
  try {
    return await startLeased(options, log, lease, admin, local);
  } catch (error) {
    // Whatever failed (a secret the configuration names and the environment lacks), the next controller need not
    // wait for the Lease to expire.
    await lease?.release().catch(() => undefined);
    throw error;
  }
}

/** up, once it may act: its Lease held on Kubernetes. */
async function startLeased(
  options: UpOptions,
  log: Logger,
  lease: Awaited<ReturnType<typeof controllerLease>> | undefined,
  admin: ReturnType<typeof keptSecret>,
  local: Credentials,
): Promise<RunningUp> {
  const parsed = options.router;
  const kept: KeptCredentials =
    parsed.driver === 'kubernetes' ? await kubernetesCredentials(parsed, local, log) : { current: local };
  if (kept.next !== undefined)
    log.warn(
      { since: kept.nextSince },
      'a credential rotation began and did not finish: the pods accept the old and the new values until it does; run guardgate credentials rotate to finish it',
    );
  const credentials = kept.current;
  const { 'router-secret': routerSecret, 'gate-token': gateToken } = credentials;
  // What this controller sends: a credential rotation (Kubernetes) changes it while up runs.
  const inUse = { gateToken };
  // A configured admin token is the operator's; otherwise the kept one, in the data directory for the CLI.
  const token = parsed.admin.token ?? credentials['admin-token'];
  if (admin.file !== null && token !== admin.value) writeFileSync(admin.file, `${token}\n`, { mode: 0o600 });
  const tokenFile = admin.file;
  const instanceEnv: NodeJS.ProcessEnv = { ...options.instanceEnv, GUARDGATE_ROUTER_SECRET: routerSecret };
  const auth = upAuth(parsed);
  // On Kubernetes a rotation changes the gate token under a running router: its digests are a file it follows.
  const routerGateDigests =
    parsed.driver === 'kubernetes'
      ? {
          file: writeRouterGateDigests(
            parsed.dataDir,
            (await import('../drivers/kubernetes/rotation.js')).podCredentialEnv(kept)[GATE_DIGEST_ENV]!,
          ),
        }
      : sha256Hex(gateToken);
  const settings = resolveRouterConfig(
    {
      ...parsed,
      auth: { ...auth, gateTokenSha256: routerGateDigests },
      routerSecret: { env: 'GUARDGATE_ROUTER_SECRET' },
    },
    instanceEnv,
  );
  // Fast checks for tests; three misses in a row to eject, so that one slow answer on a busy machine does not.
  if (options.healthIntervalMs)
    settings.health = {
      ...settings.health,
      intervalMs: options.healthIntervalMs,
      unhealthyThreshold: 3,
      healthyThreshold: 1,
    };
  // What started so far, closed in reverse order when a later step fails (a secret missing, a port in use): a
  // failed up ends, and leaves nothing open behind it (in-process callers, tests, go on).
  // (The Lease is given back by startLocked, whatever failed.)
  const started: Array<() => Promise<unknown>> = [];
  const stopStarted = async () => {
    for (const stop of started.reverse())
      await stop().catch((error: Error) => log.warn({ err: error }, 'closing after a failed start'));
  };
  /** One step of the start: if it fails, what started before it is closed, and the failure goes on. */
  const step = async <T>(run: () => Promise<T> | T): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      await stopStarted();
      throw error;
    }
  };
  // The controller's state goes where the audit goes: PostgreSQL when DATABASE_URL is set, else SQLite.
  const stores = upStoresFrom(instanceEnv);
  const { databaseUrl } = stores;
  // Store calls ride out an outage up to storeOutageSeconds; a release still running after that fails.
  const resilient = await step(
    async () =>
      new ResilientStore(
        databaseUrl
          ? new (await import('../release/store-postgres.js')).PostgresControllerStore(
              databaseUrl,
              stores.controllerSchema,
              controllerTarget(
                parsed.driver === 'kubernetes'
                  ? {
                      driver: 'kubernetes',
                      server: (await import('../drivers/kubernetes/api.js')).apiServerOf(
                        kubeconfigText(parsed.kubernetes),
                      ),
                      namespace: parsed.kubernetes.namespace,
                      app: parsed.kubernetes.app,
                    }
                  : { driver: 'local' },
                stores.target,
              ),
            )
          : new SqliteControllerStore(join(parsed.dataDir, 'controller.sqlite')),
        parsed.storeOutageSeconds * 1000,
      ),
  );
  started.push(async () => resilient.close());
  // The controller's metrics (and the change webhook's), on the admin API's /metrics.
  const metrics = new Registry();
  const webhook = await step(() => changeWebhook(parsed, instanceEnv, log, metrics));
  started.push(async () => webhook?.close(0));
  // Release traces: a trace per release, a span per state and per gate (tracing on: OTEL_EXPORTER_OTLP_ENDPOINT).
  const tracingSettings = tracingConfig(instanceEnv, 'guardgate-controller');
  const tracing = await step(() => openTracing(tracingSettings, BUILD.version));
  started.push(async () => tracing?.shutdown());
  const listeners: StoreListener[] = [
    ...(webhook ? [webhookListener(webhook)] : []),
    ...(tracing
      ? [new ReleaseTracer(tracing, resilient, log.child({ component: 'release-trace' }), routerSecret)]
      : []),
  ];
  const store: ControllerStore = listeners.length === 0 ? resilient : new ListenedStore(resilient, listeners);
  // What every instance's configuration file carries besides its environment: references and digests only.
  const instanceConfig = {
    auth: {
      ...auth,
      adminTokenSha256: sha256Hex(token),
      gateTokenSha256: sha256Hex(gateToken),
      rateLimit: withoutEnvironmentValues(auth.rateLimit, instanceEnv),
    },
    routerSecret: { env: 'GUARDGATE_ROUTER_SECRET' },
  };
  // The gates call the public listener: they trust its certificate (self-signed) and the CA that signed it.
  const { tls } = parsed;
  const gateTrust =
    tls === null
      ? undefined
      : () =>
          [tls.certFile, ...(tls.caFile === undefined ? [] : [tls.caFile])].map((file) => readFileSync(file, 'utf8'));
  // The secrets a release may name; never a file of the data directory (the admin token is there).
  const releaseSecrets = { ...parsed.releaseSecrets, deniedDirs: [parsed.dataDir] };
  const kubernetes =
    parsed.driver === 'kubernetes'
      ? await step(() => kubernetesDriver(parsed, auth, token, kept, instanceEnv, options.logLevel, log))
      : undefined;
  const driver: Driver =
    kubernetes ??
    new LocalDriver(
      {
        dataDir: parsed.dataDir,
        readyTimeoutMs: 30_000,
        stopTimeoutMs: 10_000,
        crashLoopLimit: 3,
        crashWindowMs: 60_000,
        env: instanceEnv,
        logLevel: options.logLevel,
        instanceConfig,
        releaseSecrets,
      },
      log,
    );
  started.push(async () => driver.close());
  // Rotating the pods' credentials on purpose: on Kubernetes, where the Service or a Gateway is the front door.
  let rotator: CredentialRotator | undefined;
  // Plain composition: the data path, the traffic over it, the controller, then the admin API that drives it.
  const audit = await step(() => openAuditReader({ databaseUrl, schema: stores.auditSchema, dataDir: parsed.dataDir }));
  // Closed by the admin API once it runs; by this list if the start fails before.
  started.push(async () => audit.close());
  let dataPath: Awaited<ReturnType<typeof startDataPath>>;
  let controller: Controller;
  let traffic: Traffic;
  try {
    // The router starts on the recorded active color: it never names another one while the controller restores it.
    const recorded = await store.active().catch(() => null);
    dataPath = await startDataPath({ ...settings, active: recorded ?? 'blue' }, settings.auth, token, log, {
      workers: parsed.workers,
      logLevel: options.logLevel,
    });
    started.push(async () => dataPath.close());
    traffic =
      parsed.traffic === 'router'
        ? routerTraffic(dataPath.router)
        : await kubernetesTraffic(parsed, token, driver, log);
    controller = new Controller(store, driver, traffic, log, {
      initial:
        options.initial === undefined
          ? { color: 'blue', version: 'initial', engine: { kind: 'lexicon' }, policy: 'strict', replicas: 1 }
          : environmentOf(options.initial, 'blue', options.initial.replicas),
      credentials: () => inUse.gateToken,
      releaseBlocked: () => rotator?.releaseBlocked(),
      gateTrust,
      releaseSecrets,
      storeHealth: resilient,
      audit,
      auditText: stores.auditText,
    });
    started.push(async () => controller.close());
    await controller.start();
    if (kubernetes !== undefined && parsed.traffic !== 'router') {
      rotator = await credentialRotator(parsed, kubernetes, store, controller, inUse, kept.nextSince, log);
    }
    // Everywhere (0 where no rotation can run): one alert rule reads it.
    rotationPendingGauge(metrics, () => rotator?.pendingSince);
  } catch (error) {
    await stopStarted();
    throw error;
  }
  const current = () => controller;
  const gateEndpoint: GateEndpointOptions = {
    endpoints: () => ({ live: traffic.live(), preview: traffic.preview() }),
    instanceOf: (name) =>
      readyInstanceUrl(driver.describe(name === 'live' ? traffic.active : otherColor(traffic.active))),
    allowed: () => COLORS.flatMap((color) => driver.describe(color)?.instances.map((i) => i.url) ?? []),
    credentials: () => ({ authorization: `Bearer ${inUse.gateToken}`, [EVIDENCE_HEADER]: '1' }),
    auditText: stores.auditText,
    trust: gateTrust,
    log,
  };
  // The dashboard's live charts: each color's instances read for their own figures (with the gate token: metrics scope).
  const live = new LiveSampler({
    active: () => traffic.active,
    instances: (color) => driver.describe(color)?.instances.map((i) => i.url) ?? [],
    read: async (url) => {
      const response = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${inUse.gateToken}` },
        signal: AbortSignal.timeout(2_000),
      });
      if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
      return response.text();
    },
    progress: () => controller.progress,
  });
  const extend = (app: FastifyInstance) => {
    registerControllerRoutes(app, current, live);
    registerGateEndpoint(app, gateEndpoint);
    registerRotationRoute(
      app,
      rotator === undefined
        ? rotationUnavailable(parsed)
        : {
            rotate: (actor, timeoutMs) => rotator!.rotate(actor, timeoutMs),
            pendingSince: () => rotator!.pendingSince,
          },
    );
  };
  let router: Awaited<ReturnType<typeof withAdmin>>;
  try {
    router = await withAdmin(dataPath, { ...parsed.admin, token }, log, {
      audit,
      switchTo: controllerSwitch(current),
      extend,
      metrics: controllerMetrics(controller, metrics),
      tokenHint: tokenFile ?? 'GUARDGATE_ADMIN_TOKEN',
    });
  } catch (error) {
    await stopStarted();
    throw error;
  }
  writeFileSync(
    controllerFile(parsed.dataDir),
    JSON.stringify({ url: router.url, adminUrl: router.adminUrl, pid: process.pid }, null, 2),
  );
  // Said up once a request is answered; the admin API is up meanwhile (an operator can act if it never is).
  await untilServing(traffic, log);
  return {
    url: router.url,
    adminUrl: router.adminUrl,
    tokenFile,
    token,
    access: describeAccess(auth),
    controller,
    router,
    driver,
    close: async () => {
      live.stop();
      await controller.close();
      await webhook?.close();
      await tracing?.shutdown();
      await lease?.release();
      await router.close();
      await driver.close();
      await store.close();
      rmSync(controllerFile(parsed.dataDir), { force: true });
    },
  };
}
