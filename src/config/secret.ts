// Secrets are named by reference ({ env: NAME } or { file: PATH }) in every file Guardgate reads or
// writes; the value is resolved only where it is used, and never stored, logged or returned.
import { readFileSync, realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './load.js';

/** A secret by reference: an environment variable or a file. */
export const secretRefSchema = z.union(
  [
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict(),
    z.object({ file: z.string().min(1) }).strict(),
  ],
  { error: 'a secret reference: { env: NAME } or { file: PATH } (secret values are never written in a file)' },
);

/** A parsed secret reference. */
export type SecretRef = z.output<typeof secretRefSchema>;

/** Where a reference points, for messages (never the value). */
export const describeSecret = (ref: SecretRef): string =>
  'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;

/**
 * The value a reference names. A missing or empty value is a configuration error: a secret that silently
 * resolves to nothing would disable what it protects.
 * @example resolveSecret({ env: 'VLLM_API_KEY' }, process.env)
 */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv): string {
  let value: string | undefined;
  if ('env' in ref) value = env[ref.env];
  else {
    try {
      value = readFileSync(ref.file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `cannot read the secret ${describeSecret(ref)}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
  }
  value = value?.trim();
  if (!value) throw new ConfigError(`the secret ${describeSecret(ref)} is not set or empty`);
  return value;
}

/**
 * The values a reference names, one a line (blank lines ignored): a secret being rotated lists the new value and
 * the old one. None is a configuration error, as for resolveSecret.
 */
export function readSecretLines(ref: SecretRef, env: NodeJS.ProcessEnv): string[] {
  return resolveSecret(ref, env)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Where a secret's values come from once configuration is read: fixed values, or a file read again when it changes. */
export type SecretSource = { values: readonly string[] } | { file: string };

/**
 * A reference as a source: a file stays a file (its holder re-reads it: a mounted Kubernetes Secret changes under
 * a running process), an environment variable is read now; its values are checked now either way.
 */
export function secretSource(
  ref: SecretRef | string,
  env: NodeJS.ProcessEnv,
  check: (value: string) => string | undefined = () => undefined,
): SecretSource {
  const values = typeof ref === 'string' ? [ref] : readSecretLines(ref, env);
  for (const value of values) {
    const wrong = check(value);
    if (wrong !== undefined) throw new ConfigError(wrong);
  }
  return typeof ref === 'object' && 'file' in ref ? { file: ref.file } : { values };
}

/**
 * Which secrets a release spec may name. Whoever may start a release may point the engine at any URL, so
 * a spec naming any secret of the host (the JWT secret, the admin token file, DATABASE_URL) could send it
 * there: specs may name only what the operator listed, and never a file in the data directory.
 */
export interface SecretPolicy {
  /** Environment variables a spec may name. */
  env: readonly string[];
  /** Directories whose files a spec may name. */
  dirs: readonly string[];
  /** Never allowed, whatever the lists say (the data directory). */
  deniedDirs: readonly string[];
}

const inside = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** The real path (links and `..` resolved), or the lexical one when it does not exist (yet). */
const real = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
};

/**
 * Why a spec may not name this secret, or null when it may. A file is judged by its real path: a link in an
 * allowed folder that leads out of it (to the data directory's admin token, say) is refused.
 */
export function secretRefused(ref: SecretRef, policy: SecretPolicy): string | null {
  if ('env' in ref) {
    return policy.env.includes(ref.env)
      ? null
      : `the environment variable ${ref.env} is not one a release may name (allowed: ${policy.env.join(', ') || 'none'}; set GUARDGATE_RELEASE_SECRETS)`;
  }
  const [named, actual] = [resolve(ref.file), real(ref.file)];
  const denied = policy.deniedDirs.flatMap((dir) => [resolve(dir), real(dir)]);
  const namedAllowed = policy.dirs.some((dir) => inside(named, resolve(dir)) || inside(named, real(dir)));
  const actualAllowed = policy.dirs.some((dir) => inside(actual, real(dir)));
  if (!namedAllowed || !actualAllowed || [named, actual].some((path) => denied.some((dir) => inside(path, dir)))) {
    return `the file ${ref.file} is not in a directory a release may read secrets from (allowed: ${policy.dirs.join(', ') || 'none'}; set releaseSecrets.dirs)`;
  }
  return null;
}

/**
 * A release's secret file, judged again by its real path when it is read (it may have become a link since the
 * check), and read by that real path. Throws with why it is refused.
 */
export function readReleaseSecret(ref: SecretRef & { file: string }, policy: SecretPolicy): string {
  const refused = secretRefused(ref, policy);
  if (refused !== null) throw new ConfigError(refused);
  return resolveSecret({ file: real(ref.file) }, {});
}
