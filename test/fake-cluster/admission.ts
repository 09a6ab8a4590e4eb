// Admission, as the API server runs it on every pod created (whoever creates it: a ReplicaSet controller too):
// Pod Security admission at the level a namespace enforces (`pod-security.kubernetes.io/enforce`: the restricted
// level's checks), and ResourceQuota (`pods`, `requests.*`, `limits.*`, extended resources such as
// `requests.nvidia.com/gpu`, counted over the namespace's pods that have not ended). A refusal is 403 Forbidden with
// the API server's wording; a ReplicaSet that meets one reports `ReplicaFailure` (cluster.ts).
import type { KubeObject } from './api-server.js';

/** Volume types the restricted level allows. */
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** Why the restricted Pod Security level refuses the pod (each check, as `kubectl` reports them), or an empty list. Pure. */
export function restrictedViolations(pod: KubeObject): string[] {
  const spec = pod.spec ?? {};
  const podContext = spec.securityContext ?? {};
  const containers: any[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const violations: string[] = [];
  const failing = (test: (c: any) => boolean) => containers.filter(test).map((c) => `"${c.name}"`);
  const listed = (check: string, names: string[], what: string) => {
    if (names.length > 0)
      violations.push(`${check} (container${names.length > 1 ? 's' : ''} ${names.join(', ')} must ${what})`);
  };
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC)
    violations.push('host namespaces (hostNetwork=true, hostPID=true or hostIPC=true)');
  listed(
    'privileged',
    failing((c) => c.securityContext?.privileged === true),
    'not set securityContext.privileged=true',
  );
  listed(
    'allowPrivilegeEscalation != false',
    failing((c) => c.securityContext?.allowPrivilegeEscalation !== false),
    'set securityContext.allowPrivilegeEscalation=false',
  );
  listed(
    'unrestricted capabilities',
    failing((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')),
    'set securityContext.capabilities.drop=["ALL"]',
  );
  listed(
    'unrestricted capabilities',
    failing((c) => (c.securityContext?.capabilities?.add ?? []).some((a: string) => a !== 'NET_BIND_SERVICE')),
    'not include capabilities other than NET_BIND_SERVICE in securityContext.capabilities.add',
  );
  listed(
    'runAsNonRoot != true',
    failing((c) => (c.securityContext?.runAsNonRoot ?? podContext.runAsNonRoot) !== true),
    'set securityContext.runAsNonRoot=true',
  );
  listed(
    'runAsUser=0',
    failing((c) => (c.securityContext?.runAsUser ?? podContext.runAsUser) === 0),
    'not set runAsUser=0',
  );
  listed(
    'seccompProfile',
    failing(
      (c) =>
        !['RuntimeDefault', 'Localhost'].includes(
          (c.securityContext?.seccompProfile ?? podContext.seccompProfile)?.type,
        ),
    ),
    'set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
  );
  const volumes = (spec.volumes ?? []).filter(
    (v: Record<string, unknown>) => !Object.keys(v).some((k) => RESTRICTED_VOLUMES.has(k)),
  );
  if (volumes.length > 0)
    violations.push(
      `restricted volume types (volume${volumes.length > 1 ? 's' : ''} ${volumes.map((v: { name: string }) => `"${v.name}"`).join(', ')} use${volumes.length > 1 ? '' : 's'} restricted volume type)`,
    );
  return violations;
}

/** A quantity ("500m", "2Gi", "1") as a number of units. */
export function quantity(value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(value);
  if (m === null) return Number.NaN;
  const scale: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * (scale[m[2]!] ?? Number.NaN);
}

/** What a pod asks of a quota's resource names: pods, requests.X (or a bare X), limits.X. Pure. */
export function usageOf(pod: KubeObject, resource: string): number {
  if (resource === 'pods' || resource === 'count/pods') return 1;
  const [kind, name] = resource.startsWith('limits.')
    ? ['limits', resource.slice('limits.'.length)]
    : ['requests', resource.startsWith('requests.') ? resource.slice('requests.'.length) : resource];
  return (pod.spec?.containers ?? []).reduce((sum: number, c: any) => {
    // An extended resource (a GPU) is requested as much as it is limited.
    const asked = c.resources?.[kind]?.[name] ?? (name.includes('/') ? c.resources?.limits?.[name] : undefined);
    return sum + quantity(asked);
  }, 0);
}

/** Why the namespace's quotas refuse the pod, beside the pods already there (not ended), or undefined. Pure. */
export function quotaRefusal(
  pod: KubeObject,
  quotas: readonly KubeObject[],
  existing: readonly KubeObject[],
): string | undefined {
  const containers: any[] = pod.spec?.containers ?? [];
  for (const quota of quotas) {
    const hard = Object.entries((quota.spec?.hard ?? {}) as Record<string, string>);
    // A quota on cpu or memory needs every container to say how much it asks.
    const unsaid = hard
      .map(([resource]) => resource)
      .filter((resource) => /^(requests|limits)\.(cpu|memory)$/.test(resource))
      .filter((resource) => {
        const [kind, name] = resource.split('.') as [string, string];
        return containers.some((c) => c.resources?.[kind]?.[name] === undefined);
      });
    if (unsaid.length > 0) return `failed quota: ${quota.metadata.name}: must specify ${unsaid.join(',')}`;
    const used = (resource: string) => existing.reduce((n, p) => n + usageOf(p, resource), 0);
    const exceeded = hard.filter(
      ([resource, limit]) => usageOf(pod, resource) > 0 && used(resource) + usageOf(pod, resource) > quantity(limit),
    );
    if (exceeded.length > 0) {
      const list = (f: (resource: string, limit: string) => string) =>
        exceeded.map(([r, l]) => `${r}=${f(r, l)}`).join(',');
      return (
        `exceeded quota: ${quota.metadata.name}, requested: ${list((r) => String(usageOf(pod, r)))}, ` +
        `used: ${list((r) => String(used(r)))}, limited: ${list((_r, l) => l)}`
      );
    }
  }
  return undefined;
}

/** Why admission refuses the pod in its namespace, or undefined. */
export function podRefusal(
  pod: KubeObject,
  namespace: KubeObject | undefined,
  quotas: readonly KubeObject[],
  existing: readonly KubeObject[],
): string | undefined {
  const level = namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce'];
  if (level === 'restricted') {
    const violations = restrictedViolations(pod);
    if (violations.length > 0) return `violates PodSecurity "restricted:latest": ${violations.join(', ')}`;
  }
  return quotaRefusal(pod, quotas, existing);
}
