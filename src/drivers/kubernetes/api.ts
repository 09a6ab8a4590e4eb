// The Kubernetes API client Guardgate uses: the cluster a kubeconfig names, with calls asked again on transient
// failures (429, 5xx, a connection refused or reset) within a patience; refusals come back at once.
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { statusOf } from './objects.js';

/**
 * A client for the cluster a kubeconfig (YAML) names (none: the in-cluster service account, or ~/.kube/config),
 * asking again on transient failures for up to `patienceMs` (0: never; the Lease has its own deadline).
 */
export function kubernetesApi(kubeconfig: string | undefined, patienceMs = 15_000): KubernetesObjectApi {
  const api = KubernetesObjectApi.makeApiClient(kubeConfigOf(kubeconfig));
  return patienceMs > 0 ? patientApi(api, patienceMs) : api;
}

/** A kubeconfig (YAML), or none: the in-cluster service account, or ~/.kube/config. */
export function kubeConfigOf(kubeconfig: string | undefined): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfig !== undefined) config.loadFromString(kubeconfig);
  else config.loadFromDefault();
  return config;
}

/** The URL of the API server a kubeconfig's current context names (the in-cluster one's without a kubeconfig). */
export function apiServerOf(kubeconfig: string | undefined): string | undefined {
  return kubeConfigOf(kubeconfig).getCurrentCluster()?.server;
}

/** The API server was busy or failing (429, 5xx) or could not be reached: worth asking again. */
function transient(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined) return status === 429 || status >= 500;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code);
}

/**
 * The client, with every call asked again on a transient failure (back-off from 100 ms to 2 s, for at most
 * `patienceMs`); a refusal (400, 403, 404, 409, 422) comes back at once.
 */
export function patientApi(api: KubernetesObjectApi, patienceMs = 15_000): KubernetesObjectApi {
  return new Proxy(api, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (
        typeof value !== 'function' ||
        !['create', 'read', 'replace', 'patch', 'delete', 'list'].includes(String(property))
      )
        return value;
      return async (...args: unknown[]) => {
        const deadline = Date.now() + patienceMs;
        for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } catch (error) {
            if (!transient(error) || Date.now() + wait > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
        }
      };
    },
  });
}
