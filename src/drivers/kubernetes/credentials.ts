// The controller's own credentials on a cluster: the router secret (mirrored copies carry it), the gate
// token (gate traffic carries it) and, unless one is configured, the admin token (pods' reconnect calls, the
// Gateway preview header). Pods hold their digests from the moment they start, so every controller pod must use
// the same ones: they live in the Secret `<app>-credentials`, created once by the first controller (seeded
// with what its data directory held, so that an existing installation keeps its pods' credentials) and read
// by every later one, whatever its data directory (an emptyDir) holds. A rotation (rotation.ts) keeps the values
// it brings in beside them (`next-gate-token`, `next-router-secret`) until every pod accepts them, so that a
// controller replaced mid-rotation goes on from where it was.
import { randomBytes } from 'node:crypto';
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { PatchStrategy } from '@kubernetes/client-node';
import { FIELD_MANAGER, readObject, statusOf } from './objects.js';

/** The controller's credentials kept in the cluster. */
export const CREDENTIAL_NAMES = ['admin-token', 'router-secret', 'gate-token'] as const;
/** The controller's credentials, by name. */
export type Credentials = Record<(typeof CREDENTIAL_NAMES)[number], string>;
/** Those a rotation replaces: what the pods hold and the controller sends. The admin token is the operator's. */
export const ROTATED = ['gate-token', 'router-secret'] as const;
/** New values of the rotated credentials. */
export type Rotated = Record<(typeof ROTATED)[number], string>;
/** The credentials in force, and the new ones of a rotation under way (pods accept both). */
export interface KeptCredentials {
  current: Credentials;
  next?: Rotated | undefined;
  /** When the rotation under way began (ISO): both values are accepted since then. */
  nextSince?: string | undefined;
}

/** A new value for each rotated credential: 32 random bytes, as the first ones. */
export const freshCredentials = (): Rotated => ({
  'gate-token': randomBytes(32).toString('base64url'),
  'router-secret': randomBytes(32).toString('base64url'),
});

const nextKey = (name: (typeof ROTATED)[number]) => `next-${name}`;
/** The Secret's key of when the rotation under way began. */
export const NEXT_SINCE_KEY = 'next-since';

type Secret = KubernetesObject & { data?: Record<string, string> };

/** The Secret that keeps them. */
export const credentialsSecretName = (app: string): string => `${app}-credentials`;

const decode = (secret: Secret, name: string): string | undefined =>
  secret.data?.[name] === undefined ? undefined : Buffer.from(secret.data[name], 'base64').toString('utf8');

/** The rotation under way in the Secret, if its new values are all there. */
function nextOf(secret: Secret): Rotated | undefined {
  const values = ROTATED.map((name) => decode(secret, nextKey(name)));
  if (values.some((value) => value === undefined || value === '')) return undefined;
  return Object.fromEntries(ROTATED.map((name, i) => [name, values[i]!])) as Rotated;
}

/** The Secret, read: undefined when there is none. */
export async function readKeptCredentials(
  api: KubernetesObjectApi,
  namespace: string,
  app: string,
): Promise<KeptCredentials | undefined> {
  const name = credentialsSecretName(app);
  const found = await readObject<Secret>(api, 'v1', 'Secret', namespace, name);
  if (found === undefined) return undefined;
  const missing = CREDENTIAL_NAMES.filter((key) => !decode(found, key));
  if (missing.length > 0)
    throw new Error(
      `the Secret ${namespace}/${name} lacks ${missing.join(', ')}: restore it, or delete it to start over with new credentials (pods then need a restart)`,
    );
  const current = Object.fromEntries(CREDENTIAL_NAMES.map((key) => [key, decode(found, key)!])) as Credentials;
  const next = nextOf(found);
  return { current, next, nextSince: next === undefined ? undefined : decode(found, NEXT_SINCE_KEY) };
}

/**
 * Change the Secret by a merge patch: `set` written, `remove` taken out (a rotation's two steps: its new values
 * beside the old, then in their place).
 */
export async function patchKeptCredentials(
  api: KubernetesObjectApi,
  namespace: string,
  app: string,
  set: Record<string, string>,
  remove: readonly string[] = [],
): Promise<void> {
  const data: Record<string, string | null> = Object.fromEntries(
    Object.entries(set).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  );
  for (const key of remove) data[key] = null;
  await api.patch(
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: credentialsSecretName(app), namespace }, data } as Secret,
    undefined,
    undefined,
    FIELD_MANAGER,
    undefined,
    PatchStrategy.MergePatch,
  );
}

/** The Secret's keys of a rotation under way: its new values and when it began. */
export const NEXT_KEYS = [...ROTATED.map(nextKey), NEXT_SINCE_KEY];

/** The Secret's keys of a rotation that begins now with these values. */
export const nextEntries = (next: Rotated, since: string): Record<string, string> => ({
  ...Object.fromEntries(ROTATED.map((name) => [nextKey(name), next[name]])),
  [NEXT_SINCE_KEY]: since,
});

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
): Promise<KeptCredentials> {
  const name = credentialsSecretName(app);
  for (let attempt = 0; attempt < 3; attempt++) {
    const kept = await readKeptCredentials(api, namespace, app);
    if (kept !== undefined) return kept;
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
      return { current: seed };
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
  }
  throw new Error(`the Secret ${namespace}/${name} could be neither read nor created`);
}
