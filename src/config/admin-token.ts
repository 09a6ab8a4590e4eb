// The admin token: the configured one, else the one in the data directory, else a new one written there (0600).
import { keptSecret } from './data-dir-secret.js';

/** The admin token, and whether it was made now. */
export interface AdminToken {
  token: string;
  /** Where it is kept, when it came from the data directory. */
  file: string | null;
}

/** The configured admin token, or the data directory's (made once). */
export function resolveAdminToken(configured: string | undefined, dataDir: string): AdminToken {
  const { value, file } = keptSecret('admin-token', configured, dataDir);
  return { token: value, file };
}
