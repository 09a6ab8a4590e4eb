// Whether a Deployment has rolled out, judged as `kubectl rollout status` judges it, and which of its pods
// count: pure decisions on objects read from the API server (the driver does the reading and the waiting).
import type { KubernetesObject } from '@kubernetes/client-node';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface ContainerStatus {
  name?: string;
  ready: boolean;
  restartCount: number;
  state?: { waiting?: { reason?: string; message?: string } };
}

/** The parts of a Pod the driver reads. */
export type Pod = KubernetesObject & {
  status?: {
    podIP?: string;
    phase?: string;
    reason?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
};

/** The parts of a Deployment the driver reads. */
export type KubeDeployment = KubernetesObject & {
  spec: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: Condition[];
  };
};

/** A pod that ended (Failed, as an evicted pod is kept; Succeeded) or is being deleted: it neither serves nor counts. */
export const podGone = (pod: Pod): boolean =>
  pod.metadata?.deletionTimestamp !== undefined || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';

/** Is the pod Running with its Ready condition true? */
export const podReady = (pod: Pod): boolean =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Every container of the pod, init containers and sidecars included (a crash-looping model server counts). */
export const containersOf = (pod: Pod): ContainerStatus[] => [
  ...(pod.status?.initContainerStatuses ?? []),
  ...(pod.status?.containerStatuses ?? []),
];

/** The container of a live pod that restarted `limit` times or more and is not ready: a crash loop. */
export function crashLooping(
  pods: readonly Pod[],
  limit: number,
): { pod: Pod; container: ContainerStatus } | undefined {
  for (const pod of pods) {
    if (podGone(pod)) continue;
    const container = containersOf(pod).find((c) => c.restartCount >= limit && !c.ready);
    if (container !== undefined) return { pod, container };
  }
  return undefined;
}

/** A rollout's state, as `kubectl rollout status` would say it. */
export type Rollout = { done: true } | { done: false; failed: string } | { done: false; waiting: string };

/**
 * `kubectl rollout status` for a Deployment: observed generation first; a ProgressDeadlineExceeded or a
 * ReplicaFailure condition (a pod refused at admission, a quota) fails at once; then every replica updated,
 * no old replica left, every updated replica available.
 */
export function rolloutOf(deployment: KubeDeployment): Rollout {
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation)
    return { done: false, waiting: `the Deployment's generation ${generation} not observed yet` };
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  const progressing = condition('Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return { done: false, failed: `ProgressDeadlineExceeded: ${progressing.message ?? ''}`.trim() };
  const replicaFailure = condition('ReplicaFailure');
  if (replicaFailure?.status === 'True')
    return {
      done: false,
      failed: `ReplicaFailure ${replicaFailure.reason ?? ''}: ${replicaFailure.message ?? ''}`.trim(),
    };
  const want = deployment.spec.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < want) return { done: false, waiting: `${updated} of ${want} new replicas updated` };
  if ((status.replicas ?? 0) > updated)
    return { done: false, waiting: `${(status.replicas ?? 0) - updated} old replicas pending termination` };
  if (available < updated) return { done: false, waiting: `${available} of ${updated} updated replicas available` };
  return { done: true };
}
