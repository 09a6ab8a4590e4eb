// An operator-facing fastify app (the router's admin API, the gate runner): hardened parsing, one JSON error
// shape with stable codes, a JSON 404, no request logging (admin actions are logged by what they change).
import type { ServerOptions as HttpsOptions } from 'node:https';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { answerExpectationsInJson, HARDENED_OPTIONS, hardenJsonParser } from '../shared/fastify-hardening.js';
import { answerNotFound, sendError, toGuardgateError } from './errors.js';

/** An operator-facing fastify app: hardened parsing, one error shape, no request logging. */
export function adminApp(log: Logger, component: string, https?: HttpsOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: log.child({ component }),
    logController: new LogController({ disableRequestLogging: true }),
    ...(https ? { https } : {}),
    ...HARDENED_OPTIONS,
  }) as unknown as FastifyInstance;
  hardenJsonParser(app);
  answerExpectationsInJson(app, app.initialConfig.bodyLimit ?? 1_048_576);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const failure = toGuardgateError(error, request);
    if (failure.code === 'internal') request.log.error({ err: error }, `${component} request failed`);
    return sendError(reply, failure);
  });
  app.setNotFoundHandler((request, reply) => answerNotFound(app, request, reply));
  return app;
}
