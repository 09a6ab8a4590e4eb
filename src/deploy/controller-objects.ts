// The Guardgate controller on the cluster (`guardgate up --driver kubernetes`): its ServiceAccount and the
// least-privilege Role (checked against every request it makes on the fake cluster), its configuration, a
// Deployment of one, replaced whole on upgrade (it acts while it holds the Lease `<app>-controller`, which it
// creates itself), the admin Service, and a disruption budget.
import { stringify } from 'yaml';
import type { ReleaseSpec } from '../release/spec.js';
import { RESTRICTED } from '../drivers/kubernetes/manifests.js';
import { disruptionBudget, meta, type KubeObject } from './meta.js';
import { renderedAuth, secretNames, type RenderOptions } from './options.js';

const ADMIN_PORT = 8081;
const CONFIG_DIR = '/etc/guardgate-controller';

/** The controller's name. */
export const controllerName = (options: RenderOptions): string => `${options.app}-controller`;
const controllerLabels = (options: RenderOptions) => ({ app: controllerName(options), component: 'controller' });

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/**
 * Exactly what the controller does on the cluster, per traffic mode, and to which objects: reads, writes and
 * deletes name them (Kubernetes cannot limit create, list and watch by name: give Guardgate a namespace of its
 * own). Pure.
 */
export function controllerRules(traffic: RenderOptions['traffic'], app: string): PolicyRule[] {
  const colors = [`${app}-blue`, `${app}-green`];
  const named = (apiGroups: string[], resources: string[], resourceNames: string[], verbs: string[]): PolicyRule[] => [
    { apiGroups, resources, verbs: ['create'] },
    { apiGroups, resources, resourceNames, verbs },
  ];
  return [
    // The environments: a Deployment, its ConfigMap and a Service per color, written by server-side apply (a
    // patch, and a create when the object is new), the replica count patched, all deleted at teardown; the live and
    // preview Services.
    ...named(['apps'], ['deployments'], colors, ['get', 'patch', 'delete']),
    ...named([''], ['configmaps'], colors, ['get', 'patch', 'delete']),
    ...named([''], ['services'], [...colors, app, `${app}-preview`], ['get', 'patch', 'delete']),
    // The pods' environment (the router secret, the token digests, DATABASE_URL): written, never listed.
    ...named([''], ['secrets'], [`${app}-env`], ['get', 'patch']),
    // The controller's own credentials (router secret, gate token, admin token): created once, read by every later
    // controller pod, patched by a credential rotation.
    ...named([''], ['secrets'], [`${app}-credentials`], ['get', 'patch']),
    // Readiness and rollout evidence: pod states and their events.
    { apiGroups: [''], resources: ['pods', 'events'], verbs: ['list'] },
    // The pods and the Deployments are followed by watches (informers), not read over and over.
    { apiGroups: [''], resources: ['pods'], verbs: ['watch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch'] },
    // A switch is done when the Service's EndpointSlices name the new color's pods and none of the old.
    ...(traffic === 'service-selector' ? [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] }] : []),
    ...(traffic === 'gateway-api' ? named(['gateway.networking.k8s.io'], ['httproutes'], [app], ['get', 'patch']) : []),
    // One controller acts at a time.
    ...named(['coordination.k8s.io'], ['leases'], [`${app}-controller`], ['get', 'update']),
  ];
}

/** up's configuration file in the controller's pods. */
export function controllerConfig(options: RenderOptions): Record<string, unknown> {
  return {
    driver: 'kubernetes',
    traffic: options.traffic,
    // up's own router on the pod's loopback (the default, said here so that the file says where everything listens):
    // clients and the gates go through the Service or the Gateway.
    host: '127.0.0.1',
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

/** The controller's objects: Deployment, ServiceAccount, Role and its binding, Services. */
export function controllerObjects(spec: ReleaseSpec, options: RenderOptions): KubeObject[] {
  const name = controllerName(options);
  const labels = controllerLabels(options);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(options, name, labels) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(options, name, labels), rules: controllerRules(options.traffic, options.app) },
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
      data: { 'up.yaml': stringify(controllerConfig(options), { aliasDuplicateObjects: false }), 'initial-release.yaml': stringify(spec, { aliasDuplicateObjects: false }) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(options, name, labels),
      spec: {
        // One: the controller is not on the data path (a restart delays a release, never a verdict), and a
        // standby waiting for the Lease would never be ready. The Lease still keeps two from acting at once.
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, 'app.kubernetes.io/part-of': 'guardgate' } },
          spec: {
            serviceAccountName: name,
            containers: [
              {
                name: 'controller',
                securityContext: RESTRICTED,
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
