// Who may call what on an instance. Each route says the scope it needs in its own config
// (`{ config: { scope: 'moderate' } }`), and one onRequest hook reads it from the route fastify matched:
// never from the URL string. Then the subject's rate limit. Copies mirrored by the router carry the
// deployment's router secret and are neither authenticated again nor rate-limited (the original was): on the
// routes the router mirrors (`mirrorable`), never elsewhere.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { SecretValues } from '../auth/secret-values.js';
import { authorizeRequest, type Rejection } from '../auth/fastify.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import { hasScope, SCOPES, type Principal } from '../auth/principal.js';
import type { RateLimitSettings } from '../config/auth.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { EVIDENCE_HEADER, MIRROR_HEADER } from '../shared/headers.js';
import type { Limit } from '../auth/token-bucket.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** A copy of a live request mirrored by the router: answered, not audited. */
    mirrored: boolean;
    /** Gate, bench or replay traffic from an admin credential: answered by the engine, not audited. */
    evidence: boolean;
  }
}

/** How refusals are counted. */
export interface AccessMetrics {
  rejected(reason: Rejection): void;
}

/** Who may call what on an instance: authenticator, limiter, limits, router secret. */
export interface Access {
  authenticator: Authenticator;
  limiter?: RateLimiter | undefined;
  limits: RateLimitSettings['limits'];
  /** The router's secret for mirrored copies (two during a rotation); unset: a mirror header is never honoured. */
  routerSecret?: SecretValues | undefined;
  metrics: AccessMetrics;
}

/**
 * Evidence traffic's own budget per credential when `limits.evidence` is unset: above what one instance answers,
 * so that it never caps the load gate's measurement, yet bounded (evidence traffic is not audited).
 */
export const DEFAULT_EVIDENCE_LIMIT: Limit = { perSecond: 10_000, burst: 20_000 };

/**
 * The limit a request draws on, and the bucket it draws from. Evidence traffic (gates, bench, replay) has its
 * own budget, never a user limit; anyone else gets the limit of their highest scope (`evidence` is not a user
 * limit), or the anonymous one per client address. Pure.
 */
export function limitFor(
  principal: Principal,
  evidence: boolean,
  limits: RateLimitSettings['limits'],
  ip: string,
): { limit: Limit; subject: string } | undefined {
  if (evidence)
    return {
      limit: limits.evidence ?? DEFAULT_EVIDENCE_LIMIT,
      subject: `evidence:${principal.method}:${principal.subject}`,
    };
  if (principal.method === 'anonymous')
    return limits.anonymous === undefined ? undefined : { limit: limits.anonymous, subject: `ip:${ip}` };
  for (let i = SCOPES.length - 1; i >= 0; i--) {
    const scope = SCOPES[i]!;
    if (scope !== 'evidence' && principal.scopes.has(scope) && limits[scope] !== undefined)
      return { limit: limits[scope], subject: `${principal.method}:${principal.subject}` };
  }
  return undefined;
}

/** Is this header the router's secret (either, during a rotation)? Constant time. */
export const carriesSecret = (value: string | string[] | undefined, secrets: SecretValues | undefined): boolean =>
  secrets !== undefined && typeof value === 'string' && secrets.includes(value);

/** One hook: the scope of the route fastify matched, the credential, the rate limit. */
export function installAccess(app: FastifyInstance, access: Access): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('mirrored', false);
  app.decorateRequest('evidence', false);
  const limited = Object.keys(access.limits).length > 0 && access.limiter !== undefined;

  const guard = async (request: FastifyRequest): Promise<void> => {
    // Only on a route the router mirrors (as fastify matched it): the secret opens no other route.
    const { config } = request.routeOptions;
    if (config.mirrorable === true && carriesSecret(request.headers[MIRROR_HEADER], access.routerSecret)) {
      request.mirrored = true;
      return;
    }
    const scope = config.scope;
    if (scope === undefined) return;
    const principal = await authorizeRequest(request, access.authenticator, scope, access.metrics.rejected);
    // Marking traffic as evidence keeps it out of the audit: the gates' (and an admin's) privilege, never a client's.
    if (request.headers[EVIDENCE_HEADER] === '1' && hasScope(principal, 'evidence')) request.evidence = true;
    if (!limited) return;
    const drawn = limitFor(principal, request.evidence, access.limits, request.ip);
    if (drawn === undefined) return;
    const decision = await access.limiter!.take(drawn.subject, drawn.limit);
    if (!decision.allowed) {
      access.metrics.rejected('rate_limited');
      throw new GuardgateError('rate_limited', `too many requests; try again in ${decision.retryAfterSeconds} s`, {
        retryAfter: decision.retryAfterSeconds,
      });
    }
  };
  app.addHook('onRequest', guard);
}
