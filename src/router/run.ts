// Running a router: one process, or a cluster of workers (`workers` > 1); its admin API; an orderly close.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Authenticator } from '../auth/authenticator.js';
import type { AuthConfig } from '../config/auth.js';
import { buildRouterAdmin, type RouterAdminOptions } from './admin.js';
import type { RouterControl } from './control.js';
import { Router } from './router.js';
import type { RouterSettings } from './settings.js';

export interface RunningRouter<R extends RouterControl = RouterControl> {
  router: R;
  url: string;
  previewUrl: string | null;
  adminUrl: string;
  close(): Promise<void>;
}

export interface AdminListener {
  host: string;
  port: number;
  token: string;
  tls?: { certFile: string; keyFile: string; clientCaFile?: string | undefined } | undefined;
}

/** How many processes serve the data path, and how long a worker may take to start or to apply a change. */
export interface Processes {
  workers: number;
  logLevel: string;
  deadlineMs?: number;
}

/** HTTPS options for the admin API; a client CA makes client certificates mandatory. */
function adminHttps(tls: AdminListener['tls']): RouterAdminOptions['https'] {
  if (tls === undefined) return undefined;
  const pair = { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  return tls.clientCaFile === undefined ? pair : { ...pair, ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true };
}

/** One router process: the data path here. */
export async function startRouter(settings: RouterSettings, auth: AuthConfig, admin: AdminListener, log: Logger, adminOptions: RouterAdminOptions = {}): Promise<RunningRouter<Router>> {
  const authenticator = await Authenticator.create(auth, { adminToken: admin.token, onKeyFileError: (error) => log.error({ err: error }, 'API key file unreadable; the keys loaded before stay in force') });
  const router = new Router(settings, log, authenticator);
  await router.start();
  return withAdmin(router, authenticator, admin, log, adminOptions, () => router.close());
}

/** The router as its configuration asks: one process, or a primary (admin API, state) and workers (data path). */
export async function startRouterProcesses(
  settings: RouterSettings,
  auth: AuthConfig,
  admin: AdminListener,
  log: Logger,
  processes: Processes,
  adminOptions: RouterAdminOptions = {},
): Promise<RunningRouter> {
  if (processes.workers <= 1) return startRouter(settings, auth, admin, log, adminOptions);
  const { ClusterRouter } = await import('./cluster.js');
  const authenticator = await Authenticator.create(auth, { adminToken: admin.token, onKeyFileError: (error) => log.error({ err: error }, 'API key file unreadable; the keys loaded before stay in force') });
  const router = new ClusterRouter(settings, auth, admin.token, log, { workers: processes.workers, logLevel: processes.logLevel, deadlineMs: processes.deadlineMs ?? 15_000 });
  try {
    await router.start();
  } catch (error) {
    await router.close();
    throw error;
  }
  return withAdmin(router, authenticator, admin, log, adminOptions, () => router.close());
}

async function withAdmin<R extends RouterControl>(
  router: R,
  authenticator: Authenticator,
  admin: AdminListener,
  log: Logger,
  adminOptions: RouterAdminOptions,
  closeRouter: () => Promise<void>,
): Promise<RunningRouter<R>> {
  const adminApp = buildRouterAdmin(router, authenticator, log, { https: adminHttps(admin.tls), ...adminOptions });
  const adminUrl = await adminApp.listen({ host: admin.host, port: admin.port });
  log.info({ adminUrl }, 'router admin API listening');
  return {
    router,
    url: router.url,
    previewUrl: router.previewUrl,
    adminUrl,
    close: async () => {
      await adminApp.close();
      await closeRouter();
      authenticator.close();
    },
  };
}
