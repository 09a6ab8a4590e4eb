// The controller's own credentials on a cluster: the router secret (mirrored copies carry it), the gate
// token (gate traffic carries it) and, unless one is configured, the admin token (pods' reconnect calls, the
// Gateway preview header). Pods hold their digests from the moment they start, so every controller pod must use
// the same ones: they live in the Secret `<app>-credentials`, created once by the first controller (seeded
// with what its data directory held, so that an existing installation keeps its pods' credentials) and read
// by every later one, whatever its data directory (an emptyDir) holds.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { readObject, statusOf } from './objects.js';

/** The controller's credentials kept in the cluster. */
export const CREDENTIAL_NAMES = ['admin-token', 'router-secret', 'gate-token'] as const;
/** The controller's credentials, by name. */
export type Credentials = Record<(typeof CREDENTIAL_NAMES)[number], string>;

type Secret = KubernetesObject & { data?: Record<string, string> };

/** The Secret that keeps them. */
export const credentialsSecretName = (app: string): string => `${app}-credentials`;

const decode = (secret: Secret): Partial<Credentials> =>
  Object.fromEntries(
    CREDENTIAL_NAMES.filter((name) => secret.data?.[name] !== undefined).map((name) => [
      name,
      Buffer.from(secret.data![name]!, 'base64').toString('utf8'),
    ]),
  );

/**
 * The credentials the cluster keeps: those of the Secret when it exists, else `seed` (this controller's own),
 * written as the Secret. Two controllers racing to create it (409) both end with the one that was written.
 */
export async function clusterCredentials(
  api: KubernetesObjectApi,
  namespace: string,
  app: string,
  seed: Credentials,
  log: Logger,
): Promise<Credentials> {
  const name = credentialsSecretName(app);
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = await readObject<Secret>(api, 'v1', 'Secret', namespace, name);
    if (found !== undefined) {
      const kept = decode(found);
      const missing = CREDENTIAL_NAMES.filter((key) => kept[key] === undefined || kept[key] === '');
      if (missing.length > 0)
        throw new Error(
          `the Secret ${namespace}/${name} lacks ${missing.join(', ')}: restore it, or delete it to start over with new credentials (pods then need a restart)`,
        );
      return kept as Credentials;
    }
    const data = Object.fromEntries(CREDENTIAL_NAMES.map((key) => [key, Buffer.from(seed[key]).toString('base64')]));
    try {
      await api.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace, labels: { app, 'app.kubernetes.io/managed-by': 'guardgate' } },
        type: 'Opaque',
        data,
      } as Secret);
      log.info(
        { secret: `${namespace}/${name}` },
        'kubernetes: the controller credentials are kept in a Secret, for every later controller pod',
      );
      return seed;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
  }
  throw new Error(`the Secret ${namespace}/${name} could be neither read nor created`);
}
