// Running a router: the data path, its admin API, and an orderly close.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Authenticator } from '../auth/authenticator.js';
import type { AuthConfig } from '../config/auth.js';
import { buildRouterAdmin, type RouterAdminOptions } from './admin.js';
import { Router } from './router.js';
import type { RouterSettings } from './settings.js';

export interface RunningRouter {
  router: Router;
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

/** HTTPS options for the admin API; a client CA makes client certificates mandatory. */
function adminHttps(tls: AdminListener['tls']): RouterAdminOptions['https'] {
  if (tls === undefined) return undefined;
  const pair = { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  return tls.clientCaFile === undefined ? pair : { ...pair, ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true };
}

export async function startRouter(
  settings: RouterSettings,
  auth: AuthConfig,
  admin: AdminListener,
  log: Logger,
  adminOptions: RouterAdminOptions = {},
): Promise<RunningRouter> {
  const authenticator = await Authenticator.create(auth, { adminToken: admin.token, onKeyFileError: (error) => log.error({ err: error }, 'API key file unreadable; the keys loaded before stay in force') });
  const router = new Router(settings, log, authenticator);
  await router.start();
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
      await router.close();
      authenticator.close();
    },
  };
}
