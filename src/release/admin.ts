// The controller's admin routes, mounted on the router's admin API by `guardgate up` (same port, same token).
import type { FastifyInstance } from 'fastify';
import { GuardgateError } from '../moderation/errors.js';
import { isColor } from '../router/routing.js';
import type { Controller } from './controller.js';
import { parseReleaseSpec } from './spec.js';

/** `controller` is read at call time: `up` starts the controller after the admin API listens. */
export function registerControllerRoutes(app: FastifyInstance, current: () => Controller): void {
  app.post('/admin/releases', async (request, reply) => {
    let spec;
    try {
      spec = parseReleaseSpec(request.body, 'the release spec');
    } catch (error) {
      throw new GuardgateError('invalid_request', (error as Error).message);
    }
    const release = await current().release(spec);
    return reply.code(202).send(await current().view(release));
  });
  app.get('/admin/releases/current', async () => (await current().status()).release);
  app.get<{ Querystring: { limit?: string } }>('/admin/releases', async (request) => current().history(Math.min(Number(request.query.limit ?? 20) || 20, 200)));
  app.get('/admin/controller', async () => ({ ...(await current().status()), progress: current().progress }));
  app.post<{ Body: { force?: boolean } | undefined }>('/admin/promote', async (request) => current().view(await current().promote(request.body?.force === true)));
  app.post('/admin/abort', async () => current().view(await current().abort()));
  app.post('/admin/rollback', async () => current().view(await current().rollback()));
}

/** The switch of `up`: through the controller, so that the active color is recorded durably. */
export function controllerSwitch(current: () => Controller) {
  return async (color: unknown, force: boolean) => {
    if (!isColor(color)) throw new GuardgateError('invalid_request', 'color must be "blue" or "green"');
    return current().switchTo(color, force);
  };
}
