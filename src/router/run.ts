// Running a router: one process, or a cluster of workers (`workers` > 1); its admin API; an orderly close.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Authenticator } from '../auth/authenticator.js';
import type { AuthConfig } from '../config/auth.js';
import { buildRouterAdmin, type RouterAdminOptions } from './admin.js';
import type { RouterControl } from './control.js';
import { Router } from './router.js';
import type { RouterSettings } from './settings.js';

/** A started router: its control, URLs and how to close it. */
export interface RunningRouter<R extends RouterControl = RouterControl> {
  router: R;
  url: string;
  previewUrl: string | null;
  adminUrl: string;
  close(): Promise<void>;
}

/** Where the admin API listens, its token and TLS. */
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
  return tls.clientCaFile === undefined
    ? pair
    : { ...pair, ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true };
}

/** The data path, started: one router process, or a primary and its workers. The admin API comes separately. */
export interface DataPath<R extends RouterControl = RouterControl> {
  router: R;
  authenticator: Authenticator;
  close(): Promise<void>;
}

const keyFileLogger = (log: Logger) => (error: unknown) =>
  log.error({ err: error }, 'API key file unreadable; the keys loaded before stay in force');

/** One router process: the data path here. */
export async function startDataPath(
  settings: RouterSettings,
  auth: AuthConfig,
  adminToken: string,
  log: Logger,
): Promise<DataPath<Router>>;
export async function startDataPath(
  settings: RouterSettings,
  auth: AuthConfig,
  adminToken: string,
  log: Logger,
  processes: Processes,
): Promise<DataPath>;
export async function startDataPath(
  settings: RouterSettings,
  auth: AuthConfig,
  adminToken: string,
  log: Logger,
  processes?: Processes,
): Promise<DataPath> {
  const authenticator = await Authenticator.create(auth, { adminToken, onKeyFileError: keyFileLogger(log) });
  if (processes === undefined || processes.workers <= 1) {
    const router = await Router.open(settings, log, authenticator);
    try {
      await router.start();
    } catch (error) {
      await router.close().catch(() => undefined);
      authenticator.close();
      throw error;
    }
    return { router, authenticator, close: async () => (await router.close(), authenticator.close()) };
  }
  const { ClusterRouter } = await import('./cluster.js');
  const router = new ClusterRouter(settings, auth, adminToken, log, {
    workers: processes.workers,
    logLevel: processes.logLevel,
    deadlineMs: processes.deadlineMs ?? 15_000,
  });
  try {
    await router.start();
  } catch (error) {
    await router.close();
    throw error;
  }
  return { router, authenticator, close: async () => (await router.close(), authenticator.close()) };
}

/** The admin API over a started data path; the running router closes both. */
export async function withAdmin<R extends RouterControl>(
  dataPath: DataPath<R>,
  admin: AdminListener,
  log: Logger,
  adminOptions: RouterAdminOptions = {},
): Promise<RunningRouter<R>> {
  const adminApp = buildRouterAdmin(dataPath.router, dataPath.authenticator, log, {
    https: adminHttps(admin.tls),
    ...adminOptions,
  });
  const adminUrl = await adminApp.listen({ host: admin.host, port: admin.port });
  log.info({ adminUrl }, 'router admin API listening');
  return {
    router: dataPath.router,
    url: dataPath.router.url,
    previewUrl: dataPath.router.previewUrl,
    adminUrl,
    close: async () => {
      await adminApp.close();
      await dataPath.close();
    },
  };
}

/** One router process and its admin API. */
export async function startRouter(
  settings: RouterSettings,
  auth: AuthConfig,
  admin: AdminListener,
  log: Logger,
  adminOptions: RouterAdminOptions = {},
): Promise<RunningRouter<Router>> {
  return withAdmin(await startDataPath(settings, auth, admin.token, log), admin, log, adminOptions);
}

/** The router as its configuration asks (one process, or a primary and workers), and its admin API. */
export async function startRouterProcesses(
  settings: RouterSettings,
  auth: AuthConfig,
  admin: AdminListener,
  log: Logger,
  processes: Processes,
  adminOptions: RouterAdminOptions = {},
): Promise<RunningRouter> {
  return withAdmin(await startDataPath(settings, auth, admin.token, log, processes), admin, log, adminOptions);
}
