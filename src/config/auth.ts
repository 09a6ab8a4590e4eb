// Authentication and rate-limit settings, shared by the instance (the public API) and the router
// (privilege headers, the admin API). Secrets are references; only digests of keys appear here.
import { z } from 'zod';
import { positiveInt } from './schema-parts.js';
import { sha256Hex } from '../auth/api-keys.js';
import { SCOPES } from '../auth/principal.js';
import { resolveSecret, secretRefSchema, secretSource, type SecretRef, type SecretSource } from './secret.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
/** Is this host a loopback address? */
export const isLoopback = (host: string): boolean => LOOPBACK.test(host.replace(/^\[|\]$/g, ''));

/** The JWT algorithms a configuration may name. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** How JWTs are verified. */
export const jwtSchema = z
  .object({
    /** HS256: a shared secret (by reference). */
    secret: secretRefSchema.optional(),
    /** RS256 / ES256: a PEM public key file. */
    publicKeyFile: z.string().min(1).optional(),
    /** A JSON Web Key Set URL (https, or http on loopback), fetched at start (a failure stops the start) and again on an unknown kid. */
    jwksUrl: z
      .url({ protocol: /^https?$/ })
      .refine(
        (url) => url.startsWith('https:') || isLoopback(new URL(url).hostname),
        'a JWKS is fetched over https (http only on loopback)',
      )
      .optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    /** Accepted algorithms; by default the one the key implies (HS256; RS256 or ES256 from the PEM; RS256 and ES256 for a JWKS). */
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).optional(),
    clockToleranceSeconds: z.coerce.number().int().min(0).max(600).default(60),
    /** How long a fetched key set is used before it is fetched again. */
    jwksCacheSeconds: positiveInt.default(600),
    /** The least time between two fetches caused by unknown key ids. */
    jwksCooldownSeconds: z.coerce.number().int().min(1).default(30),
  })
  .strict()
  .refine((jwt) => [jwt.secret, jwt.publicKeyFile, jwt.jwksUrl].filter((v) => v !== undefined).length === 1, {
    message: 'name exactly one of secret, publicKeyFile or jwksUrl',
  })
  // An identity provider's key set signs tokens for many applications: only those meant for this one count.
  .refine((jwt) => jwt.jwksUrl === undefined || jwt.audience !== undefined, {
    message: 'a JWKS needs an audience (the tokens meant for Guardgate)',
    path: ['audience'],
  });

/** Parsed JWT settings. */
export type JwtSettings = z.output<typeof jwtSchema>;

const limitSchema = z.object({ perSecond: z.coerce.number().positive(), burst: positiveInt }).strict();

/** Rate limits: where the buckets live, and the limits by scope. */
export const rateLimitSchema = z
  .object({
    /** Where the buckets live: this process, or Redis (shared by every instance). */
    store: z.enum(['memory', 'redis']).default('memory'),
    redisUrl: z.string().min(1).optional(),
    /**
     * A token bucket per subject; the limit of the subject's highest scope applies. `anonymous` is per client address.
     * `evidence` is not a user limit: it is the budget of evidence traffic (the gates'), per credential (default 10,000/s).
     */
    limits: z.partialRecord(z.enum(['anonymous', ...SCOPES]), limitSchema).default({}),
    /** Redis slower than this, or down, lets the request through (counted in guardgate_rate_limit_errors_total). */
    timeoutMs: positiveInt.default(50),
  })
  .strict()
  .prefault({});

/** Parsed rate-limit settings. */
export type RateLimitSettings = z.output<typeof rateLimitSchema>;

/** Who may call what: JWTs, API keys, the admin and gate tokens, anonymous access, rate limits. */
export const authSchema = z
  .object({
    jwt: jwtSchema.optional(),
    /** API keys made by `guardgate keys add` (SHA-256 digests only). */
    apiKeysFile: z.string().min(1).optional(),
    /** SHA-256 of the admin token, which then works here too, with every scope (the controller's gates use it). */
    adminTokenSha256: z.union([z.string().regex(/^[0-9a-f]{64}$/), secretRefSchema]).optional(),
    /**
     * The admin token by reference (`{env: GUARDGATE_ADMIN_TOKEN}`): pods whose configuration is rendered before the
     * token exists. Read once, at start (a file too): `adminTokenSha256` as a file follows changes.
     */
    adminToken: secretRefSchema.optional(),
    /** SHA-256 of the gates' token (or a reference to it): the credential gate traffic carries (scopes moderate, preview, metrics, evidence). */
    gateTokenSha256: z.union([z.string().regex(/^[0-9a-f]{64}$/), secretRefSchema]).optional(),
    /**
     * Serve /predict and /v1/moderations without credentials. Default: only when no JWT or API key file is
     * configured. A non-loopback listener refuses to start that way unless `insecure` is set.
     */
    anonymous: z.boolean().optional(),
    rateLimit: rateLimitSchema,
  })
  .strict()
  .prefault({});

/** Parsed auth settings (secrets still by reference). */
export type AuthSettings = z.output<typeof authSchema>;

/** Anonymous access when asked for, else only when no credential method is configured. */
export const allowsAnonymous = (auth: {
  anonymous?: boolean | undefined;
  jwt?: unknown;
  apiKeysFile?: string | undefined;
}): boolean => auth.anonymous ?? (auth.jwt === undefined && auth.apiKeysFile === undefined);

/** Auth settings with the JWT secret resolved: what the authenticator is built from. */
export type AuthConfig = Omit<AuthSettings, 'jwt' | 'adminToken' | 'adminTokenSha256' | 'gateTokenSha256'> & {
  /** The admin token's digests: one, or the new and the old during a rotation (a file is re-read as it changes). */
  adminTokenSha256?: SecretSource | undefined;
  /** The gate token's digests, likewise. */
  gateTokenSha256?: SecretSource | undefined;
  jwt?: (Omit<JwtSettings, 'secret'> & { secret?: string }) | undefined;
};

/** What is wrong with a token digest (64 hex digits), if anything. */
export const digestProblem =
  (field: string) =>
  (digest: string): string | undefined =>
    /^[0-9a-f]{64}$/.test(digest) ? undefined : `auth.${field} must be 64 hex digits, one a line`;

/** Digests given in place or by reference (one a line), checked. */
function digestOf(
  value: string | SecretRef | undefined,
  env: NodeJS.ProcessEnv,
  field: string,
): SecretSource | undefined {
  return value === undefined ? undefined : secretSource(value, env, digestProblem(field));
}

/** Auth settings with their secrets read. */
export function resolveAuth(settings: AuthSettings, env: NodeJS.ProcessEnv): AuthConfig {
  const { adminToken, adminTokenSha256, gateTokenSha256, ...rest } = settings;
  const resolved = {
    ...rest,
    adminTokenSha256:
      adminToken !== undefined
        ? { values: [sha256Hex(resolveSecret(adminToken, env))] }
        : digestOf(adminTokenSha256, env, 'adminTokenSha256'),
    gateTokenSha256: digestOf(gateTokenSha256, env, 'gateTokenSha256'),
  };
  if (resolved.jwt?.secret === undefined) return resolved as AuthConfig;
  return { ...resolved, jwt: { ...resolved.jwt, secret: resolveSecret(resolved.jwt.secret, env) } };
}

/** The environment variables every Guardgate process reads for auth, as a partial auth section. */
export function authFromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const jwt = {
    secret: env.GUARDGATE_JWT_SECRET ? { env: 'GUARDGATE_JWT_SECRET' } : undefined,
    publicKeyFile: env.GUARDGATE_JWT_PUBLIC_KEY_FILE,
    jwksUrl: env.GUARDGATE_JWKS_URL,
    issuer: env.GUARDGATE_JWT_ISSUER,
    audience: env.GUARDGATE_JWT_AUDIENCE,
  };
  return {
    jwt: Object.values(jwt).some((v) => v !== undefined) ? jwt : undefined,
    apiKeysFile: env.GUARDGATE_API_KEYS_FILE,
    rateLimit: { redisUrl: env.GUARDGATE_RATE_LIMIT_REDIS_URL },
  };
}
