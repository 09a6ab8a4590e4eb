// One place that turns an `Authorization` header into a principal: a JWT, an API key, the admin token,
// or (where allowed) nobody. Failures are one code each: the body never says which check failed.
import { allowsAnonymous, digestProblem, type AuthConfig } from '../config/auth.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { ApiKeyRing, sha256Hex } from './api-keys.js';
import { SecretValues } from './secret-values.js';
import type { JwtVerifier } from './jwt.js';
import { ANONYMOUS, GATES, hasScope, SCOPES, type Principal, type Scope } from './principal.js';

const ADMIN: Principal = { subject: 'admin', method: 'admin_token', scopes: new Set<Scope>(SCOPES) };

/** The 401 every missing or invalid credential gets (one answer for all). */
export const unauthorized = (): GuardgateError =>
  new GuardgateError('unauthorized', 'missing or invalid credentials: send Authorization: Bearer <token>');
/** The 403 of a valid credential without the scope. */
export const forbidden = (scope: Scope): GuardgateError =>
  new GuardgateError('forbidden', `the credentials lack the ${scope} scope`);

/** Tokens known to this process, and how a key file's failure is told. */
export interface AuthenticatorOptions {
  /** The admin token itself, where it is known (the router); instances know only its digest. */
  adminToken?: string | undefined;
  /** The gate token itself, where it is known (the router); instances know only its digest. */
  gateToken?: string | undefined;
  onKeyFileError?: (error: unknown) => void;
  /** A digest file rewritten badly (its digests before stay in force). */
  onDigestFileError?: (error: unknown) => void;
}

/** Compact JWS: three base64url parts. */
const COMPACT_JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;
/** Has this token a JWT's shape (three base64url parts)? */
const looksLikeJwt = (token: string): boolean => COMPACT_JWT.test(token);

/** Who a request is, and whether it may: admin and gate tokens, API keys, JWTs, anonymous. */
export class Authenticator {
  private constructor(
    private readonly jwt: JwtVerifier | undefined,
    private readonly keys: ApiKeyRing | undefined,
    /** The admin token's digests (two while it is rotated). */
    private readonly adminDigests: SecretValues | undefined,
    /** The gate token's digests (two while it is rotated). */
    private readonly gateDigests: SecretValues | undefined,
    /** Requests without credentials are served as `anonymous` (scope moderate). */
    readonly anonymous: boolean,
  ) {}

  static async create(settings: AuthConfig, options: AuthenticatorOptions = {}): Promise<Authenticator> {
    // The JWT library loads only where JWTs are configured.
    const jwt =
      settings.jwt === undefined ? undefined : await (await import('./jwt.js')).JwtVerifier.create(settings.jwt);
    const keys =
      settings.apiKeysFile === undefined ? undefined : new ApiKeyRing(settings.apiKeysFile, options.onKeyFileError);
    const digests = (token: string | undefined, source: AuthConfig['gateTokenSha256'], field: string) => {
      const given = token !== undefined ? { values: [sha256Hex(token)] } : source;
      return given === undefined
        ? undefined
        : SecretValues.open(given, digestProblem(field), options.onDigestFileError);
    };
    return new Authenticator(
      jwt,
      keys,
      digests(options.adminToken, settings.adminTokenSha256, 'adminTokenSha256'),
      digests(options.gateToken, settings.gateTokenSha256, 'gateTokenSha256'),
      allowsAnonymous(settings),
    );
  }

  /** Re-read the API key file now if it changed. */
  refreshKeys(): void {
    this.keys?.refresh();
  }

  /** The principal behind an `Authorization` header; 401 when there is none or it is not valid. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '') throw unauthorized();
    const match = /^Bearer +(\S{1,8192})$/i.exec(authorization);
    if (match === null) throw unauthorized();
    const token = match[1]!;
    const digest = sha256Hex(token);
    if (this.adminDigests?.includes(digest)) return ADMIN;
    if (this.gateDigests?.includes(digest)) return GATES;
    const key = this.keys?.find(token);
    if (key !== undefined) return { subject: key.name, method: 'api_key', scopes: new Set(key.scopes) };
    if (this.jwt !== undefined && looksLikeJwt(token)) {
      try {
        return await this.jwt.verify(token);
      } catch {
        throw unauthorized();
      }
    }
    throw unauthorized();
  }

  /**
   * Authenticate and require a scope: 401 without valid credentials, 403 without the scope. Where anonymous
   * access is allowed and covers the scope, missing or unrecognised credentials are served as anonymous
   * (the OpenAI client always sends some key); they never get more than anonymous may.
   */
  async authorize(authorization: string | undefined, scope: Scope): Promise<Principal> {
    // The common anonymous case without building an error (and its stack) on every request.
    if (this.anonymous && (authorization === undefined || authorization === '') && hasScope(ANONYMOUS, scope))
      return ANONYMOUS;
    let principal: Principal;
    try {
      principal = await this.authenticate(authorization);
    } catch (error) {
      if (this.anonymous && hasScope(ANONYMOUS, scope)) return ANONYMOUS;
      throw error;
    }
    // One rule for every route: a credential never gets less than no credential would.
    if (!hasScope(principal, scope)) {
      if (this.anonymous && hasScope(ANONYMOUS, scope)) return ANONYMOUS;
      throw forbidden(scope);
    }
    return principal;
  }

  close(): void {
    this.keys?.close();
  }
}
