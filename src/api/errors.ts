// One error shape for every fastify app (the instance's API and the admin API): fastify's own failures
// mapped onto the stable codes, and the reply with its headers.
import type { FastifyError, FastifyReply } from 'fastify';
import { errorHeaders, GuardgateError, isGuardgateError, type ErrorCode } from '../moderation/errors.js';
import { fastifyErrorCode } from '../shared/fastify-hardening.js';

export function toGuardgateError(error: FastifyError): GuardgateError {
  if (isGuardgateError(error)) return error;
  const code = fastifyErrorCode(error) as ErrorCode | undefined;
  if (code !== undefined) return new GuardgateError(code, error.message.slice(0, 200), { cause: error });
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new GuardgateError('invalid_json', `the body is not valid JSON: ${error.message.slice(0, 200)}`, { cause: error });
  }
  return new GuardgateError('internal', 'internal error', { cause: error });
}

export function sendError(reply: FastifyReply, error: GuardgateError): FastifyReply {
  return reply.code(error.status).headers(errorHeaders(error)).send(error.toBody());
}
