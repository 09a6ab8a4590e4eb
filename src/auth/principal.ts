// Who is asking, and what they may do. Scopes: moderate (/predict, /v1/moderations), preview (reach the
// standby color through the router), metrics (scrape /metrics), admin (everything, the admin API included).
export const SCOPES = ['moderate', 'preview', 'metrics', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (value: unknown): value is Scope => typeof value === 'string' && (SCOPES as readonly string[]).includes(value);

export type AuthMethod = 'jwt' | 'api_key' | 'admin_token' | 'anonymous';

export interface Principal {
  /** JWT `sub`, the API key's name, `admin`, or `anonymous`. */
  subject: string;
  method: AuthMethod;
  scopes: ReadonlySet<Scope>;
}

/** How history names who acted: `api_key:billing`, `jwt:alice@example.com`, `admin_token:admin`. */
export const actorName = (principal: Principal): string => `${principal.method}:${principal.subject}`;

/** `admin` may do everything. */
export const hasScope = (principal: Principal, scope: Scope): boolean => principal.scopes.has('admin') || principal.scopes.has(scope);

/** Where no credentials are configured (loopback only, unless --insecure): moderate and read metrics. */
export const ANONYMOUS: Principal = { subject: 'anonymous', method: 'anonymous', scopes: new Set<Scope>(['moderate', 'metrics']) };
