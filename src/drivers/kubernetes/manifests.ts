// What an environment is on Kubernetes, as objects: pure functions of the environment spec and the driver's
// settings. A color is a Deployment `<app>-<color>` (labels app, color, version; the configuration's hash as
// an annotation, so that a changed configuration rolls the pods), its configuration a ConfigMap, and a
// Service `<app>-<color>` in front of its pods.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { Color } from '../../vocabulary/colors.js';
import type { EnvironmentSpec, ModelServerSpec } from '../driver.js';

/** Where and as what environments are deployed on Kubernetes. */
export interface KubernetesSettings {
  namespace: string;
  /** The name prefix and `app` label of every object. */
  app: string;
  /** The Guardgate image the pods run. */
  image: string;
  /** The port `guardgate serve` listens on in each pod. */
  port: number;
  /** More of every instance's configuration file (auth digests, secret references): never secret values. */
  instanceConfig: Record<string, unknown>;
  /** A Secret whose keys every pod gets as environment variables (DATABASE_URL, the router secret, ...). */
  envSecret?: string | undefined;
  /** A Secret holding `api-keys.json` (guardgate keys add --file): mounted in every pod at API_KEYS_FILE. */
  apiKeysSecret?: string | undefined;
  /** Seconds a pod has to finish its verdicts in flight when it is stopped. */
  terminationGraceSeconds: number;
  /** Seconds a rollout may take before Kubernetes calls it failed (progressDeadlineSeconds). */
  progressDeadlineSeconds: number;
  /** Resources, GPU count, node selection: the same for every color unless a spec says otherwise. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
  gpus?: number | undefined;
  nodeSelector?: Record<string, string> | undefined;
  tolerations?: Array<Record<string, unknown>> | undefined;
  logLevel: string;
}

/** The label every object of the deployment carries (its name: settings.app). */
export const LABEL_APP = 'app';
/** The label that tells the colors apart. */
export const LABEL_COLOR = 'color';
/** The label that names an environment's version. */
export const LABEL_VERSION = 'version';
/** The pod template annotation that rolls the pods when their configuration file changes. */
export const CONFIG_HASH = 'guardgate.dev/config-hash';
const CONFIG_DIR = '/etc/guardgate';
const KEYS_DIR = '/etc/guardgate-keys';
/** Where pods find the API key file of `apiKeysSecret`. */
export const API_KEYS_FILE = `${KEYS_DIR}/api-keys.json`;
/**
 * Where the Secret `<app>-env` is mounted besides the environment: the credentials' digests and the router
 * secret are read there, and read again when the kubelet updates the mount (a rotation reaches running pods).
 */
export const ENV_SECRET_DIR = '/etc/guardgate-env';

/** The key of `<app>-env` holding the admin token's SHA-256 (instances accept the token by it). */
export const ADMIN_DIGEST_ENV = 'GUARDGATE_ADMIN_TOKEN_SHA256';
/** ... and the gate token's (what gate traffic carries). */
export const GATE_DIGEST_ENV = 'GUARDGATE_GATE_TOKEN_SHA256';
/** ... and the router secret itself (mirrored copies carry it). Each holds one value a line: two during a rotation. */
export const ROUTER_SECRET_ENV = 'GUARDGATE_ROUTER_SECRET';
/**
 * The keys of `<app>-env` mounted as files: these three only. The rest (DATABASE_URL, REDIS_URL, an engine's key)
 * reaches the process by its environment and is never on its file system.
 */
export const MOUNTED_ENV_KEYS = [ADMIN_DIGEST_ENV, GATE_DIGEST_ENV, ROUTER_SECRET_ENV] as const;

/** The Deployment, ConfigMap and Service name of a color. */
export const environmentName = (settings: Pick<KubernetesSettings, 'app'>, color: Color): string =>
  `${settings.app}-${color}`;
/**
 * On a color's Deployment: `scale-to-zero` when Git holds its objects (`guardgate k8s render`): the controller then
 * retires the color by scaling it to zero and keeps its objects, never deletes them (a GitOps tool would see them
 * Missing and, healing, bring an idle color back at full size).
 */
export const RETIRE_ANNOTATION = 'guardgate.dev/retire';

/** The labels that select a color's pods. */
export const colorSelector = (settings: Pick<KubernetesSettings, 'app'>, color: Color): Record<string, string> => ({
  [LABEL_APP]: settings.app,
  [LABEL_COLOR]: color,
});
/** Labels as a Kubernetes label selector string. */
export const labelSelector = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Kubernetes label values: at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function labelValue(value: string): string {
  const cleaned = value
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned === '' ? 'none' : cleaned;
}

/** The instance configuration file of a color. */
export function instanceConfigFile(spec: EnvironmentSpec, settings: KubernetesSettings): string {
  return stringify({
    ...settings.instanceConfig,
    color: spec.color,
    version: spec.version,
    policy: spec.policy,
    // With a model server in the pod, the engine talks to it on the pod's own loopback.
    engine:
      spec.modelServer && spec.engine.kind === 'openai'
        ? { ...spec.engine, baseUrl: `http://127.0.0.1:${spec.modelServer.port}/v1` }
        : spec.engine,
    dataDir: '/var/lib/guardgate',
    logLevel: settings.logLevel,
  });
}

/** An environment's instance configuration file, as a ConfigMap. */
export function configMap(spec: EnvironmentSpec, settings: KubernetesSettings) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: environmentName(settings, spec.color),
      namespace: settings.namespace,
      labels: { ...colorSelector(settings, spec.color), [LABEL_VERSION]: labelValue(spec.version) },
    },
    data: { 'instance.yaml': instanceConfigFile(spec, settings) },
  };
}

/**
 * Guardgate's containers: not root, no privilege escalation, no capabilities, a read-only root file system
 * (data lives in an emptyDir), the runtime's seccomp profile: Pod Security's "restricted" level. The model
 * server's image decides for itself.
 */
export const RESTRICTED = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** A digest of the pods' whole configuration file: a changed file changes the pod template, so the pods roll. */
export const podConfigDigest = (spec: EnvironmentSpec, settings: KubernetesSettings): string =>
  createHash('sha256').update(instanceConfigFile(spec, settings)).digest('hex').slice(0, 16);

/**
 * The pods of an environment: Guardgate (and the model server, when the spec has one) with its configuration
 * from `configMapName`, readiness on /readyz, and a preStop pause so that no proxy still sends to a stopping pod.
 * `extraEnv` adds variables (a rendered Secret reference, for pods whose Secret is not the controller's).
 */
export function podTemplate(
  spec: EnvironmentSpec,
  settings: KubernetesSettings,
  labels: Record<string, string>,
  configMapName: string,
  extraEnv: Array<Record<string, unknown>> = [],
) {
  const limits = {
    ...settings.resources?.limits,
    ...(settings.gpus ? { 'nvidia.com/gpu': String(settings.gpus) } : {}),
  };
  const hash = podConfigDigest(spec, settings);
  return {
    metadata: { labels, annotations: { [CONFIG_HASH]: hash } },
    spec: {
      // Instances never call the Kubernetes API.
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: settings.terminationGraceSeconds,
      ...(settings.nodeSelector ? { nodeSelector: settings.nodeSelector } : {}),
      ...(settings.tolerations ? { tolerations: settings.tolerations } : {}),
      containers: [
        {
          name: 'guardgate',
          image: spec.image ?? settings.image,
          securityContext: RESTRICTED,
          command: ['guardgate'],
          args: [
            'serve',
            '--config',
            `${CONFIG_DIR}/instance.yaml`,
            '--port',
            String(settings.port),
            '--host',
            '0.0.0.0',
          ],
          ports: [{ name: 'http', containerPort: settings.port }],
          ...(settings.envSecret ? { envFrom: [{ secretRef: { name: settings.envSecret } }] } : {}),
          ...(extraEnv.length > 0 ? { env: extraEnv } : {}),
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, failureThreshold: 2 },
          // A stopping pod keeps serving while the endpoint removal reaches every proxy; then it drains.
          lifecycle: {
            preStop: { sleep: { seconds: Math.min(5, Math.max(1, settings.terminationGraceSeconds - 5)) } },
          },
          livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
          volumeMounts: [
            { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
            { name: 'data', mountPath: '/var/lib/guardgate' },
            ...(settings.apiKeysSecret ? [{ name: 'api-keys', mountPath: KEYS_DIR, readOnly: true }] : []),
            ...(settings.envSecret ? [{ name: 'env', mountPath: ENV_SECRET_DIR, readOnly: true }] : []),
          ],
          ...(settings.resources || settings.gpus
            ? {
                resources: {
                  ...(settings.resources?.requests ? { requests: settings.resources.requests } : {}),
                  ...(Object.keys(limits).length ? { limits } : {}),
                },
              }
            : {}),
        },
        ...(spec.modelServer ? [modelServerContainer(spec.modelServer)] : []),
      ],
      volumes: [
        { name: 'config', configMap: { name: configMapName } },
        { name: 'data', emptyDir: {} },
        ...(settings.apiKeysSecret ? [{ name: 'api-keys', secret: { secretName: settings.apiKeysSecret } }] : []),
        ...(settings.envSecret
          ? [
              {
                name: 'env',
                secret: { secretName: settings.envSecret, items: MOUNTED_ENV_KEYS.map((key) => ({ key, path: key })) },
              },
            ]
          : []),
        ...(spec.modelServer
          ? [
              { name: 'model-cache', emptyDir: {} },
              { name: 'dshm', emptyDir: { medium: 'Memory' } },
            ]
          : []),
      ],
    },
  };
}

/** Where the model server keeps its downloads and caches (an emptyDir). */
const MODEL_CACHE_DIR = '/cache';

/** An environment's Deployment: its pods, probes and restricted security context. */
export function deployment(spec: EnvironmentSpec, settings: KubernetesSettings, replicas: number) {
  const selector = colorSelector(settings, spec.color);
  const labels = { ...selector, [LABEL_VERSION]: labelValue(spec.version) };
  const name = environmentName(settings, spec.color);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: settings.namespace,
      labels,
      annotations: { [CONFIG_HASH]: podConfigDigest(spec, settings), 'guardgate.dev/version': spec.version },
    },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      progressDeadlineSeconds: settings.progressDeadlineSeconds,
      // Never fewer ready pods than asked for while pods are replaced.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: podTemplate(spec, settings, labels, name),
    },
  };
}

/** The model server beside Guardgate in each pod (vLLM serving Qwen3Guard-Gen): its GPUs, its health check. */
function modelServerContainer(server: ModelServerSpec) {
  return {
    name: 'model-server',
    image: server.image,
    args: server.args,
    ports: [{ name: 'model', containerPort: server.port }],
    // A model takes minutes to load: a startup probe gives it 15, then readiness follows it.
    startupProbe: { httpGet: { path: '/health', port: 'model' }, periodSeconds: 5, failureThreshold: 180 },
    readinessProbe: { httpGet: { path: '/health', port: 'model' }, periodSeconds: 2, failureThreshold: 3 },
    // Admitted by the restricted Pod Security standard (a non-root user; the model cache and shared memory
    // in volumes of their own, since the image's home may not be writable).
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    env: [
      { name: 'HOME', value: MODEL_CACHE_DIR },
      { name: 'HF_HOME', value: `${MODEL_CACHE_DIR}/huggingface` },
    ],
    volumeMounts: [
      { name: 'model-cache', mountPath: MODEL_CACHE_DIR },
      { name: 'dshm', mountPath: '/dev/shm' },
    ],
    ...(server.gpus > 0 ? { resources: { limits: { 'nvidia.com/gpu': String(server.gpus) } } } : {}),
  };
}

/** A Service `name` whose selector picks one color's pods: the live `<app>` and the `<app>-preview` of traffic service-selector. */
export function selectorService(settings: Pick<KubernetesSettings, 'namespace' | 'app'>, name: string, color: Color) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: settings.namespace, labels: { [LABEL_APP]: settings.app } },
    spec: { selector: colorSelector(settings, color), ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

/** A Service in front of one color's pods. */
export function colorService(color: Color, settings: KubernetesSettings) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: environmentName(settings, color),
      namespace: settings.namespace,
      labels: colorSelector(settings, color),
    },
    spec: { selector: colorSelector(settings, color), ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}
