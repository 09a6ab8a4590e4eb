// One error shape for every fastify app (the instance's API and the admin API): fastify's own failures
// mapped onto the stable codes with a message that says what to do, a 405 with Allow for a known path asked
// with the wrong method, and the reply with its headers.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { errorHeaders, GuardgateError, isGuardgateError, type ErrorCode } from '../vocabulary/errors.js';
import { fastifyErrorCode } from '../shared/fastify-hardening.js';

/** What fastify's own refusals should tell the client, by stable code. */
const ADVICE: Partial<Record<ErrorCode, (request: FastifyRequest | undefined, error: FastifyError) => string>> = {
  unsupported_media_type: (request) =>
    `send the body as JSON with content-type: application/json${request?.headers['content-type'] ? ` (got ${String(request.headers['content-type']).slice(0, 100)})` : ' (none was sent)'}`,
  body_too_large: (request) =>
    `the body is over the limit of ${request?.routeOptions.bodyLimit ?? "the route's"} bytes`,
};

/** Any error a route raised, as one with a stable code. */
export function toGuardgateError(error: FastifyError, request?: FastifyRequest): GuardgateError {
  if (isGuardgateError(error)) return error;
  const code = fastifyErrorCode(error);
  if (code !== undefined)
    return new GuardgateError(code, ADVICE[code]?.(request, error) ?? error.message.slice(0, 200), { cause: error });
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new GuardgateError('invalid_json', `the body is not valid JSON: ${error.message.slice(0, 200)}`, {
      cause: error,
    });
  }
  return new GuardgateError('internal', 'internal error', { cause: error });
}

/** Answer with an error's status, headers and JSON body. */
export function sendError(reply: FastifyReply, error: GuardgateError): FastifyReply {
  return reply.code(error.status).headers(errorHeaders(error)).send(error.toBody());
}

const METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * The not-found answer of an app: 405 with `Allow` when the path has routes for other methods (GET /predict),
 * else 404. Routes are looked up as registered, so a path with parameters answers 404 for a wrong method.
 */
export function answerNotFound(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0]!;
  const allowed = METHODS.filter((method) => app.hasRoute({ method, url: path }));
  if (allowed.length > 0) {
    return sendError(
      reply.header('allow', allowed.join(', ')),
      new GuardgateError(
        'method_not_allowed',
        `${request.method} is not allowed on ${path.slice(0, 200)}: use ${allowed.join(' or ')}`,
      ),
    );
  }
  return sendError(reply, new GuardgateError('not_found', `no route ${request.method} ${path.slice(0, 200)}`));
}
