// Secrets are named by reference ({ env: NAME } or { file: PATH }) in every file Guardgate reads or
// writes; the value is resolved only where it is used, and never stored, logged or returned.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './load.js';

export const secretRefSchema = z.union(
  [z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict(), z.object({ file: z.string().min(1) }).strict()],
  { error: 'a secret reference: { env: NAME } or { file: PATH } (secret values are never written in a file)' },
);

export type SecretRef = z.output<typeof secretRefSchema>;

/** Where a reference points, for messages (never the value). */
export const describeSecret = (ref: SecretRef): string => ('env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`);

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
      throw new ConfigError(`cannot read the secret ${describeSecret(ref)}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  value = value?.trim();
  if (!value) throw new ConfigError(`the secret ${describeSecret(ref)} is not set or empty`);
  return value;
}
