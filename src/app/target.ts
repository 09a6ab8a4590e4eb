// What a controller deploys to, as one string: the key of its rows in a shared PostgreSQL store, so that
// controllers of two clusters, namespaces or apps never read or write each other's state.
/** Where `up` deploys: a Kubernetes cluster, namespace and app; or processes on this machine. */
export type TargetOf =
  | {
      driver: 'kubernetes';
      /** The API server's URL (drivers/kubernetes/api.ts apiServerOf); none for the in-cluster service account's. */
      server: string | undefined;
      namespace: string;
      app: string;
    }
  | { driver: 'local' };

/**
 * The target's name: `kubernetes:<API server URL>/<namespace>/<app>` (the in-cluster service account's server
 * when there is no kubeconfig), or `local` (a local controller restarted with a fresh data directory, or on
 * another machine, finds its state again; two local controllers sharing a database name themselves).
 * `GUARDGATE_TARGET` names it instead (one cluster reached by two API server addresses; two local deployments).
 */
export function controllerTarget(where: TargetOf, given: string | undefined): string {
  if (given !== undefined) return given;
  if (where.driver === 'local') return 'local';
  return `kubernetes:${where.server ?? 'in-cluster'}/${where.namespace}/${where.app}`;
}
