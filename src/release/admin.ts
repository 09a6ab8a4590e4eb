// The controller's admin routes, mounted inside the router's admin plugin by `guardgate up` (same port,
// same admin scope). Every action is recorded with the subject that asked for it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorName } from '../auth/principal.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { isColor } from '../vocabulary/colors.js';
import type { Controller } from './controller.js';
import { parseReleaseSpec, suiteFiles } from './spec.js';
import { remoteSuiteRefused } from '../gates/suite.js';
import type { LiveSampler } from '../app/live.js';

/** `controller` is read at call time: `up` starts the controller after the admin API listens. */
export function registerControllerRoutes(app: FastifyInstance, current: () => Controller, live?: LiveSampler): void {
  // The dashboard's charts: the points after `since` (ms since the epoch), up to the last 15 minutes.
  if (live !== undefined) {
    app.get<{ Querystring: { since?: string } }>('/admin/live', async (request) => {
      const since = request.query.since === undefined ? 0 : Number(request.query.since);
      if (!Number.isFinite(since) || since < 0)
        throw new GuardgateError('invalid_request', 'since must be a time in milliseconds since the epoch');
      return { points: await live.since(since) };
    });
  }
  app.post('/admin/releases', async (request, reply) => {
    let spec;
    try {
      spec = parseReleaseSpec(request.body, 'the release spec');
    } catch (error) {
      throw new GuardgateError('invalid_request', (error as Error).message);
    }
    // The server reads no file a caller names, but the suites it ships: yours travel inline.
    for (const [field, path] of suiteFiles(spec)) {
      const refused = remoteSuiteRefused(path);
      if (refused !== null) throw new GuardgateError('invalid_request', `${field}: ${refused}`);
    }
    const release = await current().release(spec, actorOf(request));
    return reply.code(202).send(await current().view(release));
  });
  app.get('/admin/releases/current', async () => (await current().status()).release);
  app.get<{ Querystring: { limit?: string } }>('/admin/releases', async (request) =>
    current().history(Math.min(Number(request.query.limit ?? 20) || 20, 200)),
  );
  app.get<{ Querystring: { limit?: string } }>('/admin/actions', async (request) =>
    current().actions(Math.min(Number(request.query.limit ?? 20) || 20, 200)),
  );
  app.get('/admin/controller', async () => ({ ...(await current().status()), progress: current().progress }));
  app.post<{ Body: { force?: boolean } | undefined }>('/admin/promote', async (request) =>
    current().view(await current().promote(request.body?.force === true, actorOf(request))),
  );
  app.post('/admin/abort', async (request) => current().view(await current().abort(actorOf(request))));
  app.post('/admin/pause', async (request) => current().view(await current().holdCanary(true, actorOf(request))));
  app.post('/admin/resume', async (request) => current().view(await current().holdCanary(false, actorOf(request))));
  app.post('/admin/rollback', async (request) => current().view(await current().rollback(actorOf(request))));
}

/** Who asked (the admin plugin's hook has run): the credential kind and its subject, so that none can pose as another. */
const actorOf = (request: FastifyRequest): string => (request.principal ? actorName(request.principal) : 'unknown');

/** The switch of `up`: through the controller, so that the active color is recorded durably. */
export function controllerSwitch(current: () => Controller) {
  return async (color: unknown, force: boolean, actor: string) => {
    if (!isColor(color)) throw new GuardgateError('invalid_request', 'color must be "blue" or "green"');
    return current().switchTo(color, force, actor);
  };
}

/** The rotation of this deployment's credentials, or why it has none. */
export type RotationRoutes =
  | {
      rotate(actor: string, timeoutMs: number | undefined): Promise<unknown>;
      /** When the rotation under way began, if one is: the old and new values are both accepted since. */
      pendingSince(): string | undefined;
    }
  | string;

/** The longest a rotation may be given: under the CLI's 300 s wait for an answer's headers. */
export const MAX_ROTATION_SECONDS = 240;

/**
 * `POST /admin/credentials/rotate` (`{ timeoutSeconds }` optional: how long the pods have to take the new values):
 * new values for the credentials the pods hold, the old ones refused once every pod has the new
 * (drivers/kubernetes/rotation.ts); a 409 saying why where this deployment cannot. `GET /admin/credentials`: whether
 * a rotation is under way (both values accepted), and since when.
 */
export function registerRotationRoute(app: FastifyInstance, rotation: RotationRoutes): void {
  app.post<{ Body: { timeoutSeconds?: unknown } | undefined }>('/admin/credentials/rotate', async (request) => {
    if (typeof rotation === 'string') throw new GuardgateError('invalid_state', rotation);
    const timeout = request.body?.timeoutSeconds;
    if (
      timeout !== undefined &&
      (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > MAX_ROTATION_SECONDS)
    )
      throw new GuardgateError(
        'invalid_request',
        `timeoutSeconds must be a whole number of seconds from 1 to ${MAX_ROTATION_SECONDS}`,
      );
    const actor = actorOf(request);
    request.log.info({ actor }, 'credential rotation asked for');
    return rotation.rotate(actor, timeout === undefined ? undefined : (timeout as number) * 1000);
  });
  app.get('/admin/credentials', async () =>
    typeof rotation === 'string'
      ? { rotation: 'unavailable', why: rotation, pendingSince: null }
      : { rotation: 'available', pendingSince: rotation.pendingSince() ?? null },
  );
}
