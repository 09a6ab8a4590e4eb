// Secrets a deployment makes for itself (the admin token, the router secret): the configured one, else
// the one kept in the data directory, else a new one written there, readable by its owner only (0600).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A secret kept in the data directory, and whether it was made now. */
export interface KeptSecret {
  value: string;
  /** Where it is kept, when it came from the data directory. */
  file: string | null;
}

/** The configured value, or the data directory's file (made once, mode 600). */
export function keptSecret(name: string, configured: string | undefined, dataDir: string): KeptSecret {
  if (configured !== undefined) return { value: configured, file: null };
  const file = join(dataDir, name);
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), file };
  mkdirSync(dataDir, { recursive: true });
  const value = randomBytes(24).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { value, file };
}
