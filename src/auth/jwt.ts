// JWT verification (jose): an HS shared secret, a PEM public key, or a remote JWKS with refetch on an
// unknown kid (under a cooldown). Algorithms are pinned, `exp` and `sub` are required, clocks may differ
// by the configured tolerance. Scopes come from `scope` (space-separated, OAuth 2.0), `scp` or `scopes`.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config/load.js';
import type { AuthConfig } from '../config/auth.js';
import { isScope, type Principal, type Scope } from './principal.js';

function scopesOf(payload: JWTPayload): Set<Scope> {
  const raw = payload.scope ?? payload.scp ?? payload.scopes;
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  return new Set(list.filter(isScope));
}

function pemKey(path: string): { key: KeyObject; algorithms: string[] } {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the JWT public key ${path}: ${(error as Error).message}`);
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return { key, algorithms: ['RS256'] };
  if (type === 'ec') return { key, algorithms: ['ES256'] };
  if (type === 'ed25519') return { key, algorithms: ['EdDSA'] };
  throw new ConfigError(`the JWT public key ${path} is ${type ?? 'unknown'}; RSA, EC or Ed25519 keys are supported`);
}

type JwtConfig = NonNullable<AuthConfig['jwt']>;

/** Verified tokens are remembered this long at most (and never past their `exp`): a client sends the same one many times. */
const REMEMBER_MS = 30_000;
const REMEMBERED_TOKENS = 10_000;
const LONGEST_REMEMBERED_TOKEN = 4_096;

/** Verifies JWTs with jose: pinned algorithms, issuer, audience, a JWKS refetched on an unknown kid. */
export class JwtVerifier {
  /** token -> its principal and until when it may be reused without verifying again. Insertion-ordered for eviction. */
  private readonly verified = new Map<string, { principal: Principal; untilMs: number }>();

  /** Never longer than a key set is cached: a key removed from the JWKS stops working as promised. */
  private readonly rememberMs: number;

  private constructor(
    private readonly key: KeyObject | JWTVerifyGetKey,
    private readonly algorithms: string[],
    private readonly settings: JwtConfig,
  ) {
    this.rememberMs =
      settings.jwksUrl === undefined ? REMEMBER_MS : Math.min(REMEMBER_MS, settings.jwksCacheSeconds * 1000);
  }

  /** Build the verifier; a JWKS is fetched once now, and a failure stops the start (fail closed). */
  static async create(settings: JwtConfig): Promise<JwtVerifier> {
    if (settings.secret !== undefined) {
      const secret = settings.secret;
      if (Buffer.byteLength(secret) < 32)
        throw new ConfigError('the JWT secret must be at least 32 bytes (256 bits) for HS256');
      return new JwtVerifier(createSecretKey(Buffer.from(secret)), settings.algorithms ?? ['HS256'], settings);
    }
    if (settings.publicKeyFile !== undefined) {
      const { key, algorithms } = pemKey(settings.publicKeyFile);
      return new JwtVerifier(key, settings.algorithms ?? algorithms, settings);
    }
    const jwks = createRemoteJWKSet(new URL(settings.jwksUrl!), {
      cacheMaxAge: settings.jwksCacheSeconds * 1000,
      cooldownDuration: settings.jwksCooldownSeconds * 1000,
      timeoutDuration: 5_000,
    });
    try {
      await jwks.reload();
    } catch (error) {
      throw new ConfigError(`cannot fetch the JWKS at ${settings.jwksUrl}: ${(error as Error).message}`);
    }
    return new JwtVerifier(jwks, settings.algorithms ?? ['RS256', 'ES256'], settings);
  }

  /**
   * The token's principal; throws on any failure (the caller answers 401 without saying which check failed).
   * A token verified in the last 30 s is not verified again (it cannot have changed; its `exp` still binds).
   */
  async verify(token: string): Promise<Principal> {
    const now = Date.now();
    const remembered = this.verified.get(token);
    if (remembered !== undefined) {
      if (remembered.untilMs > now) return remembered.principal;
      this.verified.delete(token);
    }
    const { principal, expMs } = await this.check(token);
    if (token.length <= LONGEST_REMEMBERED_TOKEN) {
      if (this.verified.size >= REMEMBERED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { principal, untilMs: Math.min(expMs, now + this.rememberMs) });
    }
    return principal;
  }

  private async check(token: string): Promise<{ principal: Principal; expMs: number }> {
    const options = {
      algorithms: this.algorithms,
      clockTolerance: this.settings.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
      ...(this.settings.issuer ? { issuer: this.settings.issuer } : {}),
      ...(this.settings.audience ? { audience: this.settings.audience } : {}),
    };
    const { payload } =
      typeof this.key === 'function'
        ? await jwtVerify(token, this.key, options)
        : await jwtVerify(token, this.key, options);
    // A subject names the actor in history and the rate-limit bucket: an empty one would name nobody.
    if (typeof payload.sub !== 'string' || payload.sub.trim() === '') throw new Error('the token has an empty sub');
    return {
      principal: { subject: payload.sub, method: 'jwt', scopes: scopesOf(payload) },
      expMs: payload.exp! * 1000,
    };
  }
}
