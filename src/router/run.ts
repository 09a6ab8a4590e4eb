// Running a router: the data path, its admin API, and an orderly close.
import type { Logger } from 'pino';
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

export async function startRouter(
  settings: RouterSettings,
  admin: { host: string; port: number; token: string },
  log: Logger,
  adminOptions: RouterAdminOptions = {},
): Promise<RunningRouter> {
  const router = new Router(settings, log);
  await router.start();
  const adminApp = buildRouterAdmin(router, admin.token, log, adminOptions);
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
    },
  };
}
