// Authorisation for fastify apps, on what fastify matched: a hook inside the plugin that owns the
// protected routes, or a route's own `config.scope`. Never on the URL string.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isGuardgateError } from '../vocabulary/errors.js';
import type { Authenticator } from './authenticator.js';
import type { Principal, Scope } from './principal.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public. */
    scope?: Scope;
    /** A route whose requests the router mirrors (moderation): the router secret marks a copy there, nowhere else. */
    mirrorable?: boolean;
  }
  interface FastifyRequest {
    /** Who is asking, once a scope hook has run; null on public routes. */
    principal: Principal | null;
  }
}

/** Why a request was refused (counted by reason). */
export type Rejection = 'unauthorized' | 'forbidden' | 'rate_limited';

/** Authenticate and require `scope`; 401 or 403 otherwise (counted by `onReject`). */
export async function authorizeRequest(
  request: FastifyRequest,
  authenticator: Authenticator,
  scope: Scope,
  onReject?: (reason: Rejection) => void,
): Promise<Principal> {
  try {
    request.principal = await authenticator.authorize(request.headers.authorization, scope);
    return request.principal;
  } catch (error) {
    if (isGuardgateError(error) && (error.code === 'unauthorized' || error.code === 'forbidden'))
      onReject?.(error.code);
    throw error;
  }
}

/** Every route registered inside `app` (a plugin's encapsulated instance) needs `scope`. */
export function requireScope(app: FastifyInstance, authenticator: Authenticator, scope: Scope): void {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    await authorizeRequest(request, authenticator, scope);
  });
}
