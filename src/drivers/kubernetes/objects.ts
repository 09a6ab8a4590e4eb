// Reading and writing whole Kubernetes objects, as every part of the Kubernetes support does it.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';

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

/**
 * Create the object `build` makes of what is there, or replace what is there naming the version read. Someone
 * else writing it meanwhile (409) means: read again and build again, a few times. Returns what was written.
 */
export async function writeObject<T extends KubernetesObject>(
  api: KubernetesObjectApi,
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
  build: (current: T | undefined) => T,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const current = await readObject<T>(api, apiVersion, kind, namespace, name);
    const object = build(current);
    try {
      if (current === undefined) return (await api.create(object)) as T;
      // Labels and annotations others put there stay (a GitOps tool's tracking label, kubectl's last-applied
      // configuration); ours win where both say something.
      const metadata = {
        ...object.metadata,
        labels: { ...current.metadata?.labels, ...object.metadata?.labels },
        annotations: { ...current.metadata?.annotations, ...object.metadata?.annotations },
        resourceVersion: current.metadata!.resourceVersion,
      };
      return (await api.replace({ ...object, metadata })) as T;
    } catch (error) {
      if (!(statusOf(error) === 409 && attempt < 5)) throw error;
    }
  }
}
