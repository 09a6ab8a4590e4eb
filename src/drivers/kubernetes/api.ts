// The Kubernetes API client Guardgate uses: the cluster a kubeconfig names, with calls asked again on transient
// failures (429, 5xx, a connection refused or reset) within a patience; refusals come back at once.
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { statusOf } from './objects.js';

/**
 * A client for the cluster a kubeconfig (YAML) names (none: the in-cluster service account, or ~/.kube/config),
 * asking again on transient failures for up to `patienceMs` (0: never; the Lease has its own deadline).
 */
export function kubernetesApi(kubeconfig: string | undefined, patienceMs = 15_000): KubernetesObjectApi {
  return patientApi(KubernetesObjectApi.makeApiClient(kubeConfigOf(kubeconfig)), patienceMs);
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
 * An API server's refusal in one line, `HTTP 409 Conflict: <its message>`, instead of the client's dump of the
 * status, body and headers; the status stays in `code`. Other errors as they are.
 */
function readable(error: unknown): unknown {
  const status = statusOf(error);
  const body = (error as { body?: unknown }).body;
  if (status === undefined || !(error instanceof Error) || !error.message.startsWith('HTTP-Code: ')) return error;
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const { reason, message } = (parsed ?? {}) as { reason?: unknown; message?: unknown };
  error.message = `HTTP ${status}${typeof reason === 'string' ? ` ${reason}` : ''}${typeof message === 'string' ? `: ${message}` : ''}`;
  return error;
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/**
 * The client, with every call asked again on a transient failure (back-off from 100 ms to 2 s, for at most
 * `patienceMs`); a refusal (400, 403, 404, 409, 422) comes back at once. Failures come back in one line.
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
        const started = Date.now();
        const deadline = started + patienceMs;
        for (let wait = 100, attempt = 1; ; wait = Math.min(wait * 2, 2_000), attempt++) {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } catch (error) {
            const failure = readable(error);
            if (!transient(failure)) throw failure;
            if (Date.now() + wait > deadline) {
              // What was waited for: the last failure says why, this says for how long.
              if (attempt > 1 && failure instanceof Error)
                failure.message += ` (asked ${attempt} times in ${((Date.now() - started) / 1_000).toFixed(1)} s)`;
              throw failure;
            }
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
        }
      };
    },
  });
}
