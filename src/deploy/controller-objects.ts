// The Guardgate controller on the cluster (`guardgate up --driver kubernetes`): its ServiceAccount and the
// least-privilege Role (checked against every request it makes on the fake cluster), its configuration,
// a Deployment of two (one acts: it holds the Lease `<app>-controller`, which it creates itself; the other
// takes over when it stops renewing), the admin Service, and a disruption budget.
import { stringify } from 'yaml';
import type { ReleaseSpec } from '../release/spec.js';
import { disruptionBudget, meta, type KubeObject } from './meta.js';
import { renderedAuth, secretNames, type RenderOptions } from './options.js';

const ADMIN_PORT = 8081;
const CONFIG_DIR = '/etc/guardgate-controller';

export const controllerName = (options: RenderOptions): string => `${options.app}-controller`;
const controllerLabels = (options: RenderOptions) => ({ app: controllerName(options), component: 'controller' });

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Exactly what the controller does on the cluster, per traffic mode. Pure. */
export function controllerRules(traffic: RenderOptions['traffic']): PolicyRule[] {
  return [
    // The environments: a Deployment, its ConfigMap and a Service per color, written whole (read, then create
    // or replace), the replica count patched, all deleted at teardown.
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['services', 'configmaps'], verbs: ['get', 'create', 'update', 'delete'] },
    // The pods' environment (the router secret, the admin token's digest, DATABASE_URL): written, never listed.
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] },
    // Readiness and rollout evidence: pod states and their events.
    { apiGroups: [''], resources: ['pods', 'events'], verbs: ['list'] },
    ...(traffic === 'gateway-api' ? [{ apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'create', 'update'] }] : []),
    // One controller acts at a time.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ];
}

/** up's configuration file in the controller's pods. */
export function controllerConfig(options: RenderOptions): Record<string, unknown> {
  return {
    driver: 'kubernetes',
    traffic: options.traffic,
    admin: { host: '0.0.0.0', port: ADMIN_PORT },
    auth: renderedAuth(options),
    kubernetes: {
      namespace: options.namespace,
      app: options.app,
      image: options.image,
      port: options.port,
      apiKeysSecret: secretNames(options).apiKeys,
      ...(options.gateway === undefined ? {} : { gateway: { name: options.gateway.name, ...(options.gateway.namespace ? { namespace: options.gateway.namespace } : {}), url: gatewayUrl(options) } }),
    },
  };
}

/** Where clients (and the gates) reach the Gateway: the public host, or the Gateway's in-cluster Service. */
const gatewayUrl = (options: RenderOptions): string => (options.host !== undefined ? `https://${options.host}` : `http://${options.gateway!.name}.${options.gateway!.namespace ?? options.namespace}.svc`);

export function controllerObjects(spec: ReleaseSpec, options: RenderOptions): KubeObject[] {
  const name = controllerName(options);
  const labels = controllerLabels(options);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(options, name, labels) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(options, name, labels), rules: controllerRules(options.traffic) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(options, name, labels),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: options.namespace }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(options, name, labels),
      // The release spec the controller starts with when it never deployed anything: what environments.yaml holds.
      data: { 'up.yaml': stringify(controllerConfig(options)), 'initial-release.yaml': stringify(spec) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(options, name, labels),
      spec: {
        replicas: options.controllerReplicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, 'app.kubernetes.io/part-of': 'guardgate' } },
          spec: {
            serviceAccountName: name,
            securityContext: { runAsNonRoot: true },
            containers: [
              {
                name: 'controller',
                image: options.image,
                command: ['guardgate'],
                args: ['up', '--config', `${CONFIG_DIR}/up.yaml`, '--initial', `${CONFIG_DIR}/initial-release.yaml`, '--data-dir', '/var/lib/guardgate'],
                env: [
                  { name: 'GUARDGATE_K8S_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'GUARDGATE_K8S_IDENTITY', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                ],
                // GUARDGATE_ADMIN_TOKEN (shared by both replicas) and DATABASE_URL (the state they share).
                envFrom: [{ secretRef: { name: secretNames(options).controller } }],
                ports: [{ name: 'admin', containerPort: ADMIN_PORT }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'admin' }, periodSeconds: 5 },
                resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } },
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'data', mountPath: '/var/lib/guardgate' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name } },
              { name: 'data', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(options, `${options.app}-admin`, labels),
      spec: { selector: labels, ports: [{ name: 'admin', port: ADMIN_PORT, targetPort: 'admin' }] },
    },
    disruptionBudget(options, name, labels, labels),
  ];
}
