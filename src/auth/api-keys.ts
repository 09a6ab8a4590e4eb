// Static API keys for simple setups. Only a SHA-256 digest of each key is kept (the key is 32 random bytes,
// so a plain digest is as strong as a slow hash); the key itself is printed once, when it is made.
// The key file is re-read when it changes, so that a revoked key stops working without a restart.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unwatchFile,
  watchFile,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import { SCOPES, type Scope } from './principal.js';

const KEY_PREFIX = 'gg_';

const keyEntrySchema = z
  .object({
    name: z.string().regex(/^[\w.@-]{1,64}$/, 'letters, digits, _ . @ - (at most 64)'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    scopes: z.array(z.enum(SCOPES)).min(1),
    createdAt: z.string(),
  })
  .strict();
const keyFileSchema = z.object({ keys: z.array(keyEntrySchema) }).strict();

/** One API key as the key file keeps it (a digest, never the key). */
export type ApiKeyEntry = z.output<typeof keyEntrySchema>;

/** SHA-256 of a text, in hex. */
export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

/** A new key: `gg_` and 32 random bytes in base64url. */
export const newApiKey = (): string => `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;

/** The entries of an API key file; a bad file is a ConfigError. */
export function readKeyFile(path: string): ApiKeyEntry[] {
  if (!existsSync(path)) return [];
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`the API key file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = keyFileSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigError(
      `the API key file ${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data.keys;
}

/** Written whole under a temporary name and renamed, so that a reader never sees half a file. */
function writeKeyFile(path: string, keys: ApiKeyEntry[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** Add a key; returns the key itself, which is never stored. */
export function addApiKey(path: string, name: string, scopes: Scope[]): string {
  const keys = readKeyFile(path);
  if (keys.some((k) => k.name === name)) throw new ConfigError(`an API key named ${name} exists; revoke it first`);
  const key = newApiKey();
  const entry = keyEntrySchema.safeParse({ name, sha256: sha256Hex(key), scopes, createdAt: new Date().toISOString() });
  if (!entry.success)
    throw new ConfigError(
      `invalid API key: ${entry.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  writeKeyFile(path, [...keys, entry.data]);
  return key;
}

/** Remove a key by name; false when there was none. */
export function revokeApiKey(path: string, name: string): boolean {
  const keys = readKeyFile(path);
  const kept = keys.filter((k) => k.name !== name);
  if (kept.length === keys.length) return false;
  writeKeyFile(path, kept);
  return true;
}

/** The keys of one file, by digest, kept current as the file changes. */
export class ApiKeyRing {
  private byDigest = new Map<string, ApiKeyEntry>();
  private mtimeMs = -1;
  private readonly listener = () => this.reload();

  constructor(
    private readonly path: string,
    private readonly onError: (error: unknown) => void = () => undefined,
    pollMs = 500,
  ) {
    this.load();
    watchFile(path, { interval: pollMs, persistent: false }, this.listener);
  }

  get size(): number {
    return this.byDigest.size;
  }

  private load(): void {
    this.byDigest = new Map(readKeyFile(this.path).map((k) => [k.sha256, k]));
    this.mtimeMs = existsSync(this.path) ? statSync(this.path).mtimeMs : -1;
  }

  /** A broken file keeps the keys that were loaded (fail closed would lock every client out at once). */
  private reload(): void {
    try {
      this.load();
    } catch (error) {
      this.onError(error);
    }
  }

  /** Re-read now if the file changed (the watcher polls; a caller that just wrote it need not wait). */
  refresh(): void {
    const mtimeMs = existsSync(this.path) ? statSync(this.path).mtimeMs : -1;
    if (mtimeMs !== this.mtimeMs) this.reload();
  }

  find(key: string): ApiKeyEntry | undefined {
    if (!key.startsWith(KEY_PREFIX)) return undefined;
    return this.byDigest.get(sha256Hex(key));
  }

  close(): void {
    unwatchFile(this.path, this.listener);
  }
}
