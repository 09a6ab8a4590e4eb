// Who is asking, and what they may do. Scopes: moderate (/predict, /v1/moderations), preview (reach the
// standby color through the router), metrics (scrape /metrics), evidence (mark requests as gate evidence: not
// audited, judged by the engine rather than the cache), admin (everything, the admin API included).
/** Every scope, lowest first: moderate, preview, metrics, evidence, admin. */
export const SCOPES = ['moderate', 'preview', 'metrics', 'evidence', 'admin'] as const;
/** A scope a credential may hold. */
export type Scope = (typeof SCOPES)[number];

/** Is this value a scope (parsing input)? */
export const isScope = (value: unknown): value is Scope =>
  typeof value === 'string' && (SCOPES as readonly string[]).includes(value);

/** How a caller proved who it is. */
export type AuthMethod = 'jwt' | 'api_key' | 'admin_token' | 'gate_token' | 'anonymous';

/** Who called: subject, method and scopes. */
export interface Principal {
  /** JWT `sub`, the API key's name, `admin`, or `anonymous`. */
  subject: string;
  method: AuthMethod;
  scopes: ReadonlySet<Scope>;
}

/** How history names who acted: `api_key:billing`, `jwt:alice@example.com`, `admin_token:admin`. */
export const actorName = (principal: Principal): string => `${principal.method}:${principal.subject}`;

/** `admin` may do everything. */
export const hasScope = (principal: Principal, scope: Scope): boolean =>
  principal.scopes.has('admin') || principal.scopes.has(scope);

/**
 * The gates' credential: what the controller and the gate runner send to candidates. It reaches the preview,
 * judges and marks its requests as evidence, reads metrics, and nothing of the admin API: a candidate that
 * records it gains nothing it could not already do.
 */
export const GATES: Principal = {
  subject: 'gates',
  method: 'gate_token',
  scopes: new Set<Scope>(['moderate', 'preview', 'metrics', 'evidence']),
};

/** Where no credentials are configured (loopback only, unless --insecure): moderate and read metrics. */
export const ANONYMOUS: Principal = {
  subject: 'anonymous',
  method: 'anonymous',
  scopes: new Set<Scope>(['moderate', 'metrics']),
};
