// Reading Kubernetes objects, and writing them by server-side apply, as every part of the Kubernetes support does it.
import { PatchStrategy, type KubernetesObject, type KubernetesObjectApi } from '@kubernetes/client-node';

/** The HTTP status a failed API call came back with, if any. */
export const statusOf = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
};

/** One object, or undefined when there is none (404). */
export async function readObject<T extends KubernetesObject>(
  api: KubernetesObjectApi,
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  try {
    return (await api.read<T>({ apiVersion, kind, metadata: { name, namespace } })) as T;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/** Guardgate's name as a field manager (server-side apply): the fields it sends are its own, and only those. */
export const FIELD_MANAGER = 'guardgate';

/**
 * Write `object` (namespace and name in its metadata) by server-side apply as `guardgate`: the fields it names
 * become what it says, taken from another manager if need be (they are Guardgate's to decide); fields others set
 * and it does not name stay (a GitOps tool's labels, `kubectl rollout restart`'s annotation, an autoscaler's
 * replicas); fields it set before and names no more go. Returns what the API server stored.
 */
export async function applyObject<T extends KubernetesObject>(api: KubernetesObjectApi, object: T): Promise<T> {
  return (await api.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)) as T;
}

/**
 * The managers that set a field of `object` (`['spec', 'replicas']`) through `subresource` (none: the object
 * itself), as its managedFields say; Guardgate itself left out.
 */
export function otherManagersOf(object: KubernetesObject | undefined, field: string[], subresource?: string): string[] {
  return (object?.metadata?.managedFields ?? [])
    .filter((entry) => entry.manager !== FIELD_MANAGER && entry.subresource === subresource)
    .filter((entry) => {
      let here: unknown = entry.fieldsV1 as unknown;
      for (const name of field) here = (here as Record<string, unknown> | undefined)?.[`f:${name}`];
      return here !== undefined;
    })
    .map((entry) => entry.manager ?? 'unknown');
}
