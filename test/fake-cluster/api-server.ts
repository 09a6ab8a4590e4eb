// A small Kubernetes API server on loopback for the tests (node:http): faithful for what the Kubernetes
// driver uses. Discovery; GET, LIST (label and field selectors), POST, PUT (resourceVersion conflicts: 409),
// PATCH (JSON merge, JSON patch, and strategic merge for the lists the driver patches: merged by name),
// DELETE (with garbage collection of owned objects); the status and scale subresources; watches (events
// after a resourceVersion, `410 Gone` when it is older than the kept history); every object it accepts
// defaulted (defaulting.ts) and validated against the Kubernetes schemas (kubernetes-models) and the API
// server's own rules (validation.ts); fault injection (a status for the next
// matching requests, a delay). Controllers, the kubelet and the service proxy run beside it (cluster.ts).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

import { podRefusal } from './admission.js';
import { applyDefaults } from './defaulting.js';
import { managerOf, recordUpdate, serverSideApply } from './managed-fields.js';
import { groupVersionDocument, openApiIndex } from './openapi.js';
import { dropUnknownFields } from './unknown-fields.js';
import { semanticErrors } from './validation.js';

const require = createRequire(import.meta.url);

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
    [key: string]: unknown;
  };
  spec?: any;
  status?: any;
  [key: string]: unknown;
};

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** The module that validates it (kubernetes-models, or the Gateway API's models). */
  model: string;
}

export const RESOURCES: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    model: 'kubernetes-models/v1/Namespace',
  },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, model: 'kubernetes-models/v1/Pod' },
  {
    group: '',
    version: 'v1',
    plural: 'resourcequotas',
    kind: 'ResourceQuota',
    namespaced: true,
    model: 'kubernetes-models/v1/ResourceQuota',
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    kind: 'Service',
    namespaced: true,
    model: 'kubernetes-models/v1/Service',
  },
  {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    kind: 'ConfigMap',
    namespaced: true,
    model: 'kubernetes-models/v1/ConfigMap',
  },
  {
    group: '',
    version: 'v1',
    plural: 'secrets',
    kind: 'Secret',
    namespaced: true,
    model: 'kubernetes-models/v1/Secret',
  },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, model: 'kubernetes-models/v1/Event' },
  {
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    kind: 'Deployment',
    namespaced: true,
    model: 'kubernetes-models/apps/v1/Deployment',
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    kind: 'ReplicaSet',
    namespaced: true,
    model: 'kubernetes-models/apps/v1/ReplicaSet',
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    kind: 'EndpointSlice',
    namespaced: true,
    model: 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice',
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    kind: 'Lease',
    namespaced: true,
    model: 'kubernetes-models/coordination.k8s.io/v1/Lease',
  },
  {
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    plural: 'httproutes',
    kind: 'HTTPRoute',
    namespaced: true,
    model: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute',
  },
  // What `guardgate k8s render` writes besides (served for kubectl's discovery, and validated like the rest).
  {
    group: '',
    version: 'v1',
    plural: 'serviceaccounts',
    kind: 'ServiceAccount',
    namespaced: true,
    model: 'kubernetes-models/v1/ServiceAccount',
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'roles',
    kind: 'Role',
    namespaced: true,
    model: 'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'rolebindings',
    kind: 'RoleBinding',
    namespaced: true,
    model: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
  },
  {
    group: 'policy',
    version: 'v1',
    plural: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    namespaced: true,
    model: 'kubernetes-models/policy/v1/PodDisruptionBudget',
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'ingresses',
    kind: 'Ingress',
    namespaced: true,
    model: 'kubernetes-models/networking.k8s.io/v1/Ingress',
  },
  {
    group: 'monitoring.coreos.com',
    version: 'v1',
    plural: 'servicemonitors',
    kind: 'ServiceMonitor',
    namespaced: true,
    model: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
  },
  {
    group: 'monitoring.coreos.com',
    version: 'v1',
    plural: 'prometheusrules',
    kind: 'PrometheusRule',
    namespaced: true,
    model: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
  },
  {
    group: 'argoproj.io',
    version: 'v1alpha1',
    plural: 'rollouts',
    kind: 'Rollout',
    namespaced: true,
    model: '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout',
  },
  {
    group: 'argoproj.io',
    version: 'v1alpha1',
    plural: 'analysistemplates',
    kind: 'AnalysisTemplate',
    namespaced: true,
    model: '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate',
  },
];

/** Check an object against its kind's schema (kubernetes-models and the CRD models); throws with what is wrong. */
export function validateKubeObject(object: { apiVersion?: string; kind: string }): void {
  const type = RESOURCES.find(
    (t) => t.kind === object.kind && apiVersionOf(t) === (object.apiVersion ?? apiVersionOf(t)),
  );
  if (type === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  const exports = require(type.model) as Record<string, new (value: unknown) => { validate(): void }>;
  new exports[type.kind]!(object).validate();
}

const apiVersionOf = (type: ResourceType) => (type.group === '' ? type.version : `${type.group}/${type.version}`);
export const typeOfKind = (kind: string): ResourceType => RESOURCES.find((t) => t.kind === kind)!;

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: KubeObject;
  resourceVersion: number;
}

export interface Fault {
  method?: string;
  path: RegExp;
  /** The error status a matching request gets (none: it is served, after its hang). */
  status?: number;
  /** How long a matching request hangs before anything else (a stuck API server, a black-holed connection). */
  hangMs?: number;
  /** How many matching requests fail; then the fault is spent. */
  count: number;
  /** When the outage ends (ms since the epoch), spent or not: none, when `count` requests have met it. */
  endsAt?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const clone = <T>(value: T): T => structuredClone(value);

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Strategic merge, for what the driver patches: maps merge, lists of objects with a `name` merge by name, other lists are replaced. */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch)) {
    if (!Array.isArray(target) || !patch.every((p) => typeof p === 'object' && p !== null && 'name' in p))
      return clone(patch);
    const out = [...target];
    for (const item of patch as Array<Record<string, unknown>>) {
      const at = out.findIndex((t) => (t as Record<string, unknown>).name === item.name);
      if (item.$patch === 'delete') {
        if (at >= 0) out.splice(at, 1);
      } else if (at >= 0) out[at] = strategicMerge(out[at], item);
      else out.push(clone(item));
    }
    return out;
  }
  if (typeof patch !== 'object' || patch === null) return clone(patch);
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete out[key];
    else out[key] = strategicMerge(out[key], value);
  }
  return out;
}

/** RFC 6902: add, remove, replace, test. */
export function jsonPatch(target: unknown, operations: Array<{ op: string; path: string; value?: unknown }>): unknown {
  const doc = clone(target) as Record<string, unknown>;
  for (const { op, path, value } of operations) {
    const parts = path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent: any = doc;
    for (const part of parts) {
      parent = parent?.[part];
      if (parent === undefined) throw new HttpError(422, 'Invalid', `json patch: no ${path}`);
    }
    const index = Array.isArray(parent) ? (last === '-' ? parent.length : Number(last)) : last;
    if (op === 'test') {
      if (JSON.stringify(parent[index]) !== JSON.stringify(value))
        throw new HttpError(422, 'Invalid', `json patch: test failed at ${path}`);
    } else if (op === 'remove') {
      if (Array.isArray(parent)) parent.splice(index as number, 1);
      else delete parent[index];
    } else if (op === 'add' && Array.isArray(parent)) {
      parent.splice(index as number, 0, clone(value));
    } else if (op === 'add' || op === 'replace') {
      if (op === 'replace' && !(index in parent))
        throw new HttpError(422, 'Invalid', `json patch: no ${path} to replace`);
      parent[index] = clone(value);
    } else throw new HttpError(422, 'Invalid', `json patch: op ${op} not supported`);
  }
  return doc;
}

/** `a=b,c!=d,e in (f,g),h` on labels. */
export function matchesLabelSelector(labels: Record<string, string> = {}, selector: string | undefined): boolean {
  if (!selector) return true;
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const term = raw.trim();
    let m = /^([^!=\s]+)\s+in\s+\(([^)]*)\)$/.exec(term);
    if (m)
      return m[2]!
        .split(',')
        .map((s) => s.trim())
        .includes(labels[m[1]!] ?? '\u0000');
    m = /^([^!=\s]+)\s+notin\s+\(([^)]*)\)$/.exec(term);
    if (m)
      return !m[2]!
        .split(',')
        .map((s) => s.trim())
        .includes(labels[m[1]!] ?? '\u0000');
    m = /^([^!=\s]+)\s*!=\s*(.*)$/.exec(term);
    if (m) return labels[m[1]!] !== m[2];
    m = /^([^!=\s]+)\s*==?\s*(.*)$/.exec(term);
    if (m) return labels[m[1]!] === m[2];
    if (term.startsWith('!')) return !(term.slice(1) in labels);
    return term in labels;
  });
}

/** `metadata.name=x,involvedObject.name=y` on an object's fields. */
function matchesFieldSelector(object: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([^!=]+)(!=|==?)(.*)$/.exec(term.trim());
    if (!m) return true;
    const value = m[1]!.split('.').reduce<any>((o, k) => o?.[k], object);
    return m[2] === '!=' ? String(value) !== m[3] : String(value ?? '') === m[3];
  });
}

const HISTORY = 2_000;

/** The objects, and the changes to them: what controllers and watches read. */
export class ObjectStore extends EventEmitter {
  private readonly objects = new Map<string, KubeObject>();
  private revision = 1;
  private readonly history: WatchEvent[] = [];
  private nextClusterIp = 1;

  /** Services get cluster IPs 127.<serviceBlock>.x.y. */
  constructor(private readonly serviceBlock: number) {
    super();
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.plural}.${type.group}/${type.namespaced ? namespace : ''}/${name}`;
  }

  get resourceVersion(): number {
    return this.revision;
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const object = this.objects.get(this.key(typeOfKind(kind), namespace, name));
    return object && clone(object);
  }

  list(kind: string, namespace?: string, labelSelector?: string, fieldSelector?: string): KubeObject[] {
    const type = typeOfKind(kind);
    const prefix = `${type.plural}.${type.group}/`;
    return [...this.objects.entries()]
      .filter(
        ([key, object]) =>
          key.startsWith(prefix) && (namespace === undefined || object.metadata.namespace === namespace),
      )
      .map(([, object]) => object)
      .filter(
        (object) =>
          matchesLabelSelector(object.metadata.labels, labelSelector) && matchesFieldSelector(object, fieldSelector),
      )
      .map(clone);
  }

  private record(type: WatchEvent['type'], object: KubeObject): void {
    const event = { type, object: clone(object), resourceVersion: this.revision };
    this.history.push(event);
    if (this.history.length > HISTORY) this.history.shift();
    this.emit('change', event);
  }

  /** Changes after `resourceVersion`; undefined when they are no longer kept (410 Gone). */
  since(resourceVersion: number): WatchEvent[] | undefined {
    if (resourceVersion >= this.revision) return [];
    const first = this.history[0];
    if (first !== undefined && first.resourceVersion > resourceVersion + 1) return undefined;
    return this.history.filter((e) => e.resourceVersion > resourceVersion);
  }

  /** The schema, then what the API server's own validation refuses (validation.ts); `current` when replacing. */
  validate(object: KubeObject, current?: KubeObject): void {
    const type = RESOURCES.find((t) => t.kind === object.kind);
    if (type === undefined) throw new HttpError(400, 'BadRequest', `unknown kind ${object.kind}`);
    let message: string | undefined;
    try {
      validateKubeObject(object);
    } catch (error) {
      message = (error as Error).message;
    }
    const errors = message === undefined ? semanticErrors(object, current) : [];
    if (message === undefined && errors.length > 0)
      message = `[${errors.map((e) => `${e.field}: ${e.detail}`).join(', ')}]`;
    if (message !== undefined)
      throw new HttpError(
        422,
        'Invalid',
        `${type.kind}${type.group === '' ? '' : `.${type.group}`} "${object.metadata?.name}" is invalid: ${message}`,
      );
  }

  /** Create an object; a dry run (`dryRun=All`) does every check and answers what would be stored, storing nothing. */
  create(input: KubeObject, dryRun = false): KubeObject {
    const type = typeOfKind(input.kind);
    const object = clone(input);
    if (!object.metadata?.name && typeof object.metadata?.generateName === 'string')
      object.metadata.name = `${object.metadata.generateName}${randomUUID().slice(0, 5)}`;
    applyDefaults(object);
    this.validate(object);
    if (type.kind === 'Pod') {
      const refused = podRefusal(
        object,
        this.get('Namespace', undefined, object.metadata.namespace!),
        this.list('ResourceQuota', object.metadata.namespace),
        this.list('Pod', object.metadata.namespace).filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase)),
      );
      if (refused !== undefined)
        throw new HttpError(403, 'Forbidden', `pods "${object.metadata.name}" is forbidden: ${refused}`);
    }
    const key = this.key(type, object.metadata.namespace, object.metadata.name);
    if (this.objects.has(key))
      throw new HttpError(409, 'AlreadyExists', `${type.plural} "${object.metadata.name}" already exists`);
    object.metadata = {
      ...object.metadata,
      uid: randomUUID(),
      resourceVersion: String(this.revision + 1),
      creationTimestamp: new Date().toISOString(),
    };
    // Workloads and custom resources (HTTPRoute) count changes of their spec, as the real API server does.
    if (type.kind === 'Deployment' || type.kind === 'ReplicaSet' || type.group === 'gateway.networking.k8s.io')
      object.metadata.generation = 1;
    // A Service gets its cluster IP at creation: here a loopback address the service proxy listens on.
    if (type.kind === 'Service' && object.spec?.clusterIP === undefined && !dryRun) {
      const n = this.nextClusterIp++;
      object.spec = { ...object.spec, clusterIP: `127.${this.serviceBlock}.${n >> 8}.${n & 255}` };
    }
    if (dryRun) return clone(object);
    this.revision++;
    this.objects.set(key, object);
    this.record('ADDED', object);
    return clone(object);
  }

  /** Replace an object; a resourceVersion that is not the current one is a conflict. `status` says which part is written. */
  replace(input: KubeObject, part: 'main' | 'status' = 'main', dryRun = false): KubeObject {
    const type = typeOfKind(input.kind);
    const key = this.key(type, input.metadata.namespace, input.metadata.name);
    const current = this.objects.get(key);
    if (current === undefined)
      throw new HttpError(404, 'NotFound', `${type.plural} "${input.metadata.name}" not found`);
    if (
      input.metadata.resourceVersion !== undefined &&
      input.metadata.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw new HttpError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural} "${input.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const next = clone(input);
    if (part === 'main') applyDefaults(next);
    if (part === 'status') {
      next.spec = current.spec;
      next.metadata = current.metadata;
    } else if (current.status !== undefined) next.status = current.status;
    if (type.kind === 'Service' && next.spec?.clusterIP === undefined)
      next.spec = { ...next.spec, clusterIP: current.spec.clusterIP };
    next.metadata = {
      ...next.metadata,
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
    };
    if (current.metadata.deletionTimestamp) next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    if (current.metadata.generation !== undefined) {
      next.metadata.generation =
        JSON.stringify(next.spec) === JSON.stringify(current.spec)
          ? current.metadata.generation
          : current.metadata.generation + 1;
    }
    this.validate(next, current);
    // Nothing changed: no new version, no event.
    if (
      JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } }) ===
      JSON.stringify(current)
    )
      return clone(current);
    if (dryRun) return clone(next);
    this.revision++;
    next.metadata.resourceVersion = String(this.revision);
    this.objects.set(key, next);
    this.record('MODIFIED', next);
    return clone(next);
  }

  /** Read-modify-write that retries on a conflict: what controllers use. */
  update(
    kind: string,
    namespace: string | undefined,
    name: string,
    change: (object: KubeObject) => void,
    part: 'main' | 'status' = 'main',
  ): KubeObject | undefined {
    for (;;) {
      const object = this.get(kind, namespace, name);
      if (object === undefined) return undefined;
      change(object);
      try {
        return this.replace(object, part);
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 409)) throw error;
      }
    }
  }

  /** Delete now (pods are first marked, then removed by the kubelet once stopped); owned objects follow. */
  delete(kind: string, namespace: string | undefined, name: string, options: { graceful?: boolean } = {}): KubeObject {
    const type = typeOfKind(kind);
    const key = this.key(type, namespace, name);
    const current = this.objects.get(key);
    if (current === undefined) throw new HttpError(404, 'NotFound', `${type.plural} "${name}" not found`);
    if (kind === 'Pod' && options.graceful !== false) {
      if (current.metadata.deletionTimestamp) return clone(current);
      return this.update(kind, namespace, name, (o) => (o.metadata.deletionTimestamp = new Date().toISOString()))!;
    }
    this.objects.delete(key);
    this.revision++;
    current.metadata.resourceVersion = String(this.revision);
    this.record('DELETED', current);
    // Garbage collection: what this object controlled goes too.
    for (const ownedType of RESOURCES.filter((t) => t.namespaced)) {
      for (const owned of this.list(ownedType.kind, namespace)) {
        if (owned.metadata.ownerReferences?.some((ref) => ref.uid === current.metadata.uid)) {
          try {
            this.delete(owned.kind, namespace, owned.metadata.name);
          } catch {
            // gone meanwhile
          }
        }
      }
    }
    return clone(current);
  }
}

interface Route {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

function parsePath(path: string): Route | undefined {
  const m =
    /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
      path,
    );
  if (!m) return undefined;
  const [, coreVersion, group, groupVersion, namespace, plural, name, subresource] = m;
  // /api/v1/namespaces/x is the Namespace x itself.
  if (plural === undefined) return undefined;
  const version = coreVersion ?? groupVersion!;
  const g = coreVersion ? '' : group!;
  if (namespace !== undefined && plural === undefined) return undefined;
  const type = RESOURCES.find((t) => t.group === g && t.version === version && t.plural === plural);
  if (type === undefined) {
    // /api/v1/namespaces/{name}: a namespace read by name.
    if (namespace === undefined && coreVersion && plural === 'namespaces') return undefined;
    return undefined;
  }
  return { type, namespace, name, subresource };
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

export interface ApiServer {
  url: string;
  store: ObjectStore;
  /** Requests fail with a status, or are slowed, as the test says. */
  faults: { add(fault: Fault): void; delayMs: number; clear(): void };
  /** Close every watch stream now (clients must re-list or resume). */
  dropWatches(): void;
  requests: Array<{ method: string; path: string; status: number }>;
  /** The unknown fields writes carried, dropped with a Warning header (fieldValidation Warn, the default). */
  warnings: Array<{ method: string; path: string; fields: string[] }>;
  close(): Promise<void>;
}

/** `serviceBlock`: the second octet of the loopback block Services get their cluster IPs from. */
export async function startApiServer(serviceBlock = 2): Promise<ApiServer> {
  const store = new ObjectStore(serviceBlock);
  store.setMaxListeners(0);
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const faults: Fault[] = [];
  const faultControl = {
    add: (fault: Fault) => faults.push({ ...fault }),
    delayMs: 0,
    clear: () => (faults.length = 0),
  };
  const watches = new Set<ServerResponse>();
  const requests: ApiServer['requests'] = [];
  const warnings: ApiServer['warnings'] = [];
  /**
   * A write's unknown fields, as the API server's field validation treats them (the `fieldValidation` query
   * parameter): Strict refuses the write (400); Warn, the default, drops them and says so in a Warning header;
   * Ignore drops them.
   */
  const checkFields = (written: unknown, type: ResourceType, req: IncomingMessage, url: URL, res: ServerResponse) => {
    const fields = dropUnknownFields(written, apiVersionOf(type), type.kind, type.model);
    if (fields.length === 0) return;
    const validation = url.searchParams.get('fieldValidation') ?? 'Warn';
    if (validation === 'Strict')
      throw new HttpError(
        400,
        'BadRequest',
        `strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(', ')}`,
      );
    if (validation === 'Ignore') return;
    warnings.push({ method: req.method!, path: url.pathname, fields });
    res.setHeader('warning', fields.map((f) => `299 - "unknown field \\"${f}\\""`).join(', '));
  };

  const body = async (req: IncomingMessage): Promise<any> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      if ((req.headers['content-type'] ?? '').includes('yaml')) {
        const { parse } = (await import('yaml')) as { parse: (text: string) => unknown };
        return parse(text);
      }
      throw new HttpError(400, 'BadRequest', 'the body is not JSON');
    }
  };

  const discovery = (group: string, version: string) => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: RESOURCES.filter((t) => t.group === group && t.version === version).flatMap((t) => [
      {
        name: t.plural,
        singularName: t.kind.toLowerCase(),
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      },
      ...(t.kind === 'Deployment'
        ? [
            {
              name: `${t.plural}/scale`,
              namespaced: true,
              kind: 'Scale',
              group: 'autoscaling',
              version: 'v1',
              verbs: ['get', 'patch', 'update'],
            },
          ]
        : []),
      { name: `${t.plural}/status`, namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] },
    ]),
  });

  const watch = (route: Route, url: URL, res: ServerResponse) => {
    const from = Number(url.searchParams.get('resourceVersion') ?? store.resourceVersion);
    const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
    const fieldSelector = url.searchParams.get('fieldSelector') ?? undefined;
    const backlog = store.since(from);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // a watch with nothing to say yet is still open
    if (backlog === undefined) {
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${store.resourceVersion})`) })}\n`,
      );
      return;
    }
    const send = (event: WatchEvent) => {
      const o = event.object;
      if (o.kind !== route.type.kind || (route.namespace !== undefined && o.metadata.namespace !== route.namespace))
        return;
      if (!matchesLabelSelector(o.metadata.labels, labelSelector) || !matchesFieldSelector(o, fieldSelector)) return;
      res.write(`${JSON.stringify({ type: event.type, object: o })}\n`);
    };
    for (const event of backlog) send(event);
    store.on('change', send);
    const bookmarks =
      url.searchParams.get('allowWatchBookmarks') === 'true'
        ? setInterval(
            () =>
              res.write(
                `${JSON.stringify({ type: 'BOOKMARK', object: { kind: route.type.kind, apiVersion: apiVersionOf(route.type), metadata: { resourceVersion: String(store.resourceVersion) } } })}\n`,
              ),
            1_000,
          )
        : undefined;
    const timeout = setTimeout(() => res.end(), Number(url.searchParams.get('timeoutSeconds') ?? 300) * 1000);
    watches.add(res);
    res.on('close', () => {
      store.off('change', send);
      clearInterval(bookmarks);
      clearTimeout(timeout);
      watches.delete(res);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    const url = new URL(req.url!, 'http://fake');
    const path = url.pathname;
    const method = req.method!;
    if (faultControl.delayMs > 0) await new Promise((r) => setTimeout(r, faultControl.delayMs));
    const fault = faults.find(
      (f) =>
        f.count > 0 &&
        (f.endsAt === undefined || Date.now() < f.endsAt) &&
        (f.method === undefined || f.method === method) &&
        f.path.test(path),
    );
    if (fault !== undefined) {
      fault.count--;
      if (fault.hangMs !== undefined) await new Promise((r) => setTimeout(r, fault.hangMs));
      if (fault.status !== undefined)
        throw new HttpError(fault.status, fault.status === 429 ? 'TooManyRequests' : 'InternalError', 'injected fault');
    }
    if (method === 'GET' && path === '/api') return { kind: 'APIVersions', versions: ['v1'] };
    if (method === 'GET' && path === '/openapi/v3') return openApiIndex(RESOURCES);
    if (method === 'GET' && path.startsWith('/openapi/v3/')) {
      const document = groupVersionDocument(RESOURCES, path.slice('/openapi/v3/'.length));
      if (Object.keys(document.paths as object).length === 0)
        throw new HttpError(404, 'NotFound', `no OpenAPI document for ${path}`);
      return document;
    }
    if (method === 'GET' && path === '/apis') {
      const groups = [...new Set(RESOURCES.filter((t) => t.group !== '').map((t) => `${t.group}/${t.version}`))];
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((gv) => ({
          name: gv.split('/')[0],
          versions: [{ groupVersion: gv, version: gv.split('/')[1] }],
          preferredVersion: { groupVersion: gv, version: gv.split('/')[1] },
        })),
      };
    }
    if (method === 'GET' && path === '/api/v1') return discovery('', 'v1');
    const groupMatch = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (method === 'GET' && groupMatch) return discovery(groupMatch[1]!, groupMatch[2]!);
    // A namespace by name.
    const namespaceMatch = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path);
    if (namespaceMatch) {
      const name = namespaceMatch[1]!;
      if (method === 'GET')
        return (
          store.get('Namespace', undefined, name) ??
          (() => {
            throw new HttpError(404, 'NotFound', `namespaces "${name}" not found`);
          })()
        );
      if (method === 'DELETE') return store.delete('Namespace', undefined, name);
    }
    const route = parsePath(path);
    if (route === undefined)
      throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${path})`);
    const { type, namespace, name, subresource } = route;
    const kind = type.kind;
    const manager = managerOf(url.searchParams.get('fieldManager'), req.headers['user-agent']);
    // A dry run (kubectl --dry-run=server): every check, nothing stored. `All` is the one value the API knows.
    const dryRunValue = url.searchParams.get('dryRun');
    if (dryRunValue !== null && dryRunValue !== 'All')
      throw new HttpError(400, 'BadRequest', `invalid dry run value "${dryRunValue}": only All is supported`);
    const dryRun = dryRunValue === 'All';
    const existing = () => {
      const object = store.get(kind, namespace, name!);
      if (object === undefined) throw new HttpError(404, 'NotFound', `${type.plural} "${name}" not found`);
      return object;
    };
    if (name === undefined) {
      if (method === 'GET' && url.searchParams.get('watch') === 'true') return watch(route, url, res);
      if (method === 'GET') {
        const items = store.list(
          kind,
          namespace,
          url.searchParams.get('labelSelector') ?? undefined,
          url.searchParams.get('fieldSelector') ?? undefined,
        );
        return {
          kind: `${kind}List`,
          apiVersion: apiVersionOf(type),
          metadata: { resourceVersion: String(store.resourceVersion) },
          items,
        };
      }
      if (method === 'POST') {
        const input = (await body(req)) as KubeObject;
        if (input?.kind !== kind) throw new HttpError(400, 'BadRequest', `the body is not a ${kind}`);
        checkFields(input, type, req, url, res);
        if (namespace !== undefined) input.metadata = { ...input.metadata, namespace };
        input.metadata.managedFields = recordUpdate(undefined, input, manager);
        res.statusCode = 201;
        return store.create(input, dryRun);
      }
      throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed on a collection`);
    }
    if (subresource === 'scale') {
      if (kind !== 'Deployment') throw new HttpError(404, 'NotFound', 'no scale subresource');
      const scaleOf = (d: KubeObject) => ({
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: {
          name: d.metadata.name,
          namespace: d.metadata.namespace,
          resourceVersion: d.metadata.resourceVersion,
        },
        spec: { replicas: d.spec.replicas },
        status: { replicas: d.status?.replicas ?? 0 },
      });
      if (method === 'GET') return scaleOf(existing());
      const input = await body(req);
      const replicas = method === 'PATCH' ? input?.spec?.replicas : input?.spec?.replicas;
      if (!Number.isInteger(replicas) || replicas < 0)
        throw new HttpError(422, 'Invalid', 'spec.replicas must be a non-negative integer');
      return scaleOf(
        store.update(kind, namespace, name, (d) => {
          const before = structuredClone(d);
          d.spec.replicas = replicas;
          d.metadata.managedFields = recordUpdate(before, d, manager, 'scale');
        })!,
      );
    }
    const part = subresource === 'status' ? 'status' : 'main';
    if (method === 'GET') return existing();
    if (method === 'PUT') {
      const input = (await body(req)) as KubeObject;
      if (input?.metadata?.name !== name)
        throw new HttpError(400, 'BadRequest', 'the name in the body does not match the path');
      checkFields(input, type, req, url, res);
      input.metadata.namespace = namespace;
      if (part === 'main')
        input.metadata.managedFields = recordUpdate(store.get(kind, namespace, name), input, manager);
      return store.replace(input, part, dryRun);
    }
    if (method === 'PATCH') {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const patch = await body(req);
      if (contentType !== 'application/json-patch+json') checkFields(patch, type, req, url, res);
      const current = store.get(kind, namespace, name);
      if (contentType === 'application/apply-patch+yaml') {
        const applied = patch as KubeObject;
        if (applied?.kind !== kind || applied.metadata?.name !== name)
          throw new HttpError(400, 'BadRequest', `an apply names its object: kind ${kind}, metadata.name ${name}`);
        const force = url.searchParams.get('force') === 'true';
        if (!url.searchParams.get('fieldManager'))
          throw new HttpError(
            422,
            'Invalid',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          );
        const next = serverSideApply(
          current,
          { ...applied, metadata: { ...applied.metadata, namespace } },
          manager,
          force,
        );
        if (current !== undefined) return store.replace(next, part, dryRun);
        res.statusCode = 201;
        return store.create(next, dryRun);
      }
      if (current === undefined) throw new HttpError(404, 'NotFound', `${type.plural} "${name}" not found`);
      let next: KubeObject;
      if (contentType === 'application/json-patch+json') next = jsonPatch(current, patch) as KubeObject;
      else if (contentType === 'application/merge-patch+json') next = mergePatch(current, patch) as KubeObject;
      else if (contentType === 'application/strategic-merge-patch+json')
        next = strategicMerge(current, patch) as KubeObject;
      else throw new HttpError(415, 'UnsupportedMediaType', `the patch type ${contentType} is not supported`);
      next.metadata.resourceVersion =
        (patch as KubeObject)?.metadata?.resourceVersion ?? current.metadata.resourceVersion;
      if (part === 'main') next.metadata.managedFields = recordUpdate(current, next, manager);
      return store.replace(next, part, dryRun);
    }
    if (method === 'DELETE') return dryRun ? existing() : store.delete(kind, namespace, name);
    throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).then(
      (result) => {
        requests.push({ method: req.method!, path: req.url!, status: res.statusCode });
        if (result === undefined) return; // a watch writes its own answer
        res.writeHead(res.statusCode || 200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      },
      (error: Error) => {
        const failure = error instanceof HttpError ? error : new HttpError(500, 'InternalError', error.message);
        requests.push({ method: req.method!, path: req.url!, status: failure.status });
        if (res.headersSent) return void res.destroy();
        res.writeHead(failure.status, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ...status(failure.status, failure.reason, failure.message),
            ...('causes' in failure ? { details: { causes: failure.causes } } : {}),
          }),
        );
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store,
    faults: faultControl,
    dropWatches: () => {
      for (const res of watches) res.destroy();
    },
    requests,
    warnings,
    close: () =>
      new Promise((resolve) => {
        for (const res of watches) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
