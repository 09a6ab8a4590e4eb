// The router's admin API, on its own port (loopback by default): status, switch, weights, mirroring and
// pool membership. Every route under /admin lives in one plugin whose hook requires the admin scope (the
// admin token, or a JWT or API key with scope admin), so that authorisation follows the route fastify
// matched, however the path was spelled. /metrics, /healthz and the dashboard's files answer without it.
import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsOptions } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Authenticator } from '../auth/authenticator.js';
import { requireScope } from '../auth/fastify.js';
import { Tally } from '../shared/tally.js';
import { actorName } from '../auth/principal.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { adminApp } from '../api/admin-app.js';
import { PAGE_HEADERS } from '../shared/web-headers.js';
import { builtFile } from '../shared/built.js';
import type { AuditStore } from '../store/audit/store.js';
import { parseAuditQuery } from '../store/audit/query.js';
import type { RouterControl } from './control.js';
import { isColor, type Color } from '../vocabulary/colors.js';

const webFile = (name: string): string => readFileSync(new URL(`../../web/${name}`, import.meta.url), 'utf8');
const DASHBOARD_HTML = webFile('dashboard.html');
const DASHBOARD_JS = webFile('dashboard.js');
/** The chart library, copied from node_modules into dist/web by the build (nothing is loaded from elsewhere). */
const vendorFile = once((name: string) => readFileSync(builtFile(`web/${name}`), 'utf8'));

type Body = Record<string, unknown>;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `read` once per argument, remembered. */
function once<T>(read: (name: string) => T): (name: string) => T {
  const seen = new Map<string, T>();
  return (name) => {
    if (!seen.has(name)) seen.set(name, read(name));
    return seen.get(name)!;
  };
}

const bodyOf = (body: unknown): Body => {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new GuardgateError('invalid_request', 'the body must be a JSON object');
  return body as Body;
};

const colorOf = (value: unknown, field: string): Color => {
  if (!isColor(value)) throw new GuardgateError('invalid_request', `${field} must be "blue" or "green"`);
  return value;
};

const numberOf = (value: unknown, field: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new GuardgateError('invalid_type', `${field} must be a number`);
  return value;
};

/** What the router's admin API serves besides the router itself. */
export interface RouterAdminOptions {
  /** When given, GET /admin/audit queries it. */
  audit?: AuditStore | undefined;
  /** Replaces the plain switch (the controller records the active color durably, with its actor). */
  switchTo?: (color: unknown, force: boolean, actor: string) => Promise<unknown>;
  /** More admin routes on the same port, behind the same scope (the controller's). */
  extend?: (admin: FastifyInstance) => void;
  /** More metrics on /metrics (the controller's). */
  metrics?: Registry | undefined;
  /** HTTPS for the admin API, optionally requiring client certificates (`requestCert`, `ca`). */
  https?: HttpsOptions | undefined;
  /** Where the admin token is, as the dashboard's sign-in form says (a file path, or the variable that holds it). */
  tokenHint?: string | undefined;
}

/** The admin API: status, switches, weights, metrics, the dashboard (every route behind the admin scope). */
export function buildRouterAdmin(
  router: RouterControl,
  authenticator: Authenticator,
  log: Logger,
  options: RouterAdminOptions = {},
) {
  const app = adminApp(log, 'router-admin', options.https);
  // The operator's way in stays open when the public port is flooded: its own small cap.
  app.server.maxConnections = 256;

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await router.metricsText();
    return reply
      .type(contentType)
      .send(options.metrics === undefined ? body : `${body}${await options.metrics.metrics()}`);
  });
  // The dashboard's page and script load without credentials; every call it makes needs them.
  const hint = escapeHtml(
    options.tokenHint ??
      'the admin token file of the data directory (.guardgate/admin-token), or GUARDGATE_ADMIN_TOKEN',
  );
  const dashboardHtml = DASHBOARD_HTML.replace('{{TOKEN_HINT}}', () => hint);
  app.get('/dashboard', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').headers(PAGE_HEADERS).send(dashboardHtml),
  );
  app.get('/dashboard.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(DASHBOARD_JS));
  app.get('/vendor/uplot.js', async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'max-age=86400')
      .send(vendorFile('uPlot.iife.min.js')),
  );
  app.get('/vendor/uplot.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=86400').send(vendorFile('uPlot.min.css')),
  );
  app.register(async (admin) => {
    requireScope(admin, authenticator, 'admin');
    // Every change made through the admin API is logged with who made it (release steps are also in history);
    // refused requests at most once a minute, with how many: a flood of them must not flood the log.
    const refused = new Tally(60_000);
    admin.addHook('onResponse', async (request, reply) => {
      if (reply.statusCode === 401 || reply.statusCode === 403) {
        const count = refused.add();
        if (count !== undefined)
          request.log.warn(
            {
              refused: count,
              method: request.method,
              route: request.routeOptions.url ?? request.url.slice(0, 100),
              status: reply.statusCode,
            },
            'admin requests refused',
          );
        return;
      }
      if (request.method === 'GET') return;
      request.log.warn(
        {
          actor: request.principal && actorName(request.principal),
          method: request.method,
          route: request.routeOptions.url,
          status: reply.statusCode,
        },
        'admin action',
      );
    });
    registerAdminRoutes(admin, router, options);
  });
  app.addHook('onClose', async () => options.audit?.close());
  return app;
}

function registerAdminRoutes(app: FastifyInstance, router: RouterControl, options: RouterAdminOptions): void {
  app.get('/admin/status', async () => router.status());
  app.get('/admin/traffic', async () => ({ at: Date.now(), colors: await router.traffic() }));
  app.post('/admin/switch', async (request) => {
    const body = bodyOf(request.body);
    if (options.switchTo) return options.switchTo(body.color, body.force === true, actorName(request.principal!));
    return router.switchTo(colorOf(body.color, 'color'), { force: body.force === true });
  });
  app.put('/admin/weights', async (request) => {
    const body = bodyOf(request.body);
    const sticky = body.stickyHeader;
    if (sticky !== undefined && sticky !== null && typeof sticky !== 'string')
      throw new GuardgateError('invalid_type', 'stickyHeader must be a string or null');
    await router.setWeights(numberOf(body.standby, 'standby'), (sticky as string | null | undefined) ?? null);
    return router.status();
  });
  app.put('/admin/mirror', async (request) => {
    await router.setMirror(numberOf(bodyOf(request.body).fraction, 'fraction'));
    return router.status();
  });
  app.put<{ Params: { color: string } }>('/admin/pools/:color', async (request) => {
    const color = colorOf(request.params.color, 'the color in the path');
    const body = bodyOf(request.body);
    const instances = body.instances;
    if (!Array.isArray(instances) || !instances.every((i) => typeof i === 'string' && URL.canParse(i))) {
      throw new GuardgateError('invalid_request', 'instances must be an array of URLs');
    }
    const version = body.version === undefined || body.version === null ? null : String(body.version);
    await router.setPool(color, instances as string[], version);
    return (await router.status()).pools[color];
  });
  const { audit } = options;
  if (audit !== undefined) {
    app.get<{ Querystring: Record<string, string> }>('/admin/audit', async (request) => {
      const q = request.query;
      return audit.query(
        parseAuditQuery({
          since: q.since,
          until: q.until,
          flagged: q.flagged,
          color: q.color,
          version: q.version,
          traceId: q.trace_id,
          limit: q.limit,
          cursor: q.cursor,
        }),
      );
    });
  }
  options.extend?.(app);
}
