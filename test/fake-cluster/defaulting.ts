// The defaults the real API server writes into objects it stores (its defaulting functions), for the fields
// Guardgate reads back or compares: a controller that reads what it wrote sees these, not what it sent.
import type { KubeObject } from './api-server.js';

const orDefault = <T>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);

function defaultPodSpec(spec: any): void {
  if (spec === undefined) return;
  spec.restartPolicy = orDefault(spec.restartPolicy, 'Always');
  spec.terminationGracePeriodSeconds = orDefault(spec.terminationGracePeriodSeconds, 30);
  spec.dnsPolicy = orDefault(spec.dnsPolicy, 'ClusterFirst');
  spec.schedulerName = orDefault(spec.schedulerName, 'default-scheduler');
  spec.securityContext = orDefault(spec.securityContext, {});
  for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const tag = String(container.image ?? '')
      .split('/')
      .at(-1)!;
    const latest = !tag.includes(':') || tag.endsWith(':latest');
    container.imagePullPolicy = orDefault(container.imagePullPolicy, latest ? 'Always' : 'IfNotPresent');
    container.terminationMessagePath = orDefault(container.terminationMessagePath, '/dev/termination-log');
    container.terminationMessagePolicy = orDefault(container.terminationMessagePolicy, 'File');
    for (const port of container.ports ?? []) port.protocol = orDefault(port.protocol, 'TCP');
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      if (probe === undefined) continue;
      probe.timeoutSeconds = orDefault(probe.timeoutSeconds, 1);
      probe.periodSeconds = orDefault(probe.periodSeconds, 10);
      probe.successThreshold = orDefault(probe.successThreshold, 1);
      probe.failureThreshold = orDefault(probe.failureThreshold, 3);
      if (probe.httpGet !== undefined) probe.httpGet.scheme = orDefault(probe.httpGet.scheme, 'HTTP');
    }
  }
}

/** Fill in what the API server defaults, in place. */
export function applyDefaults(object: KubeObject): void {
  const spec = object.spec;
  switch (object.kind) {
    case 'Deployment':
      spec.replicas = orDefault(spec.replicas, 1);
      spec.revisionHistoryLimit = orDefault(spec.revisionHistoryLimit, 10);
      spec.progressDeadlineSeconds = orDefault(spec.progressDeadlineSeconds, 600);
      spec.strategy = orDefault(spec.strategy, {});
      spec.strategy.type = orDefault(spec.strategy.type, 'RollingUpdate');
      if (spec.strategy.type === 'RollingUpdate')
        spec.strategy.rollingUpdate = orDefault(spec.strategy.rollingUpdate, {
          maxUnavailable: '25%',
          maxSurge: '25%',
        });
      defaultPodSpec(spec.template?.spec);
      return;
    case 'ReplicaSet':
      spec.replicas = orDefault(spec.replicas, 1);
      defaultPodSpec(spec.template?.spec);
      return;
    case 'Pod':
      defaultPodSpec(spec);
      return;
    case 'Service':
      spec.type = orDefault(spec.type, 'ClusterIP');
      spec.sessionAffinity = orDefault(spec.sessionAffinity, 'None');
      for (const port of spec.ports ?? []) {
        port.protocol = orDefault(port.protocol, 'TCP');
        port.targetPort = orDefault(port.targetPort, port.port);
      }
      return;
    case 'Secret':
      // stringData is write-only: merged into data (base64), its keys winning, and never stored or returned.
      object.type = orDefault(object.type, 'Opaque');
      if (object.stringData !== undefined) {
        const data: Record<string, string> = { ...((object.data ?? {}) as Record<string, string>) };
        for (const [key, value] of Object.entries(object.stringData as Record<string, string>))
          data[key] = Buffer.from(value, 'utf8').toString('base64');
        object.data = data;
        delete object.stringData;
      }
      return;
    default:
  }
}
