// `guardgate up`: the whole product on one machine. The router on the public port, the admin API (router,
// controller and audit) on the admin port, the controller with the local driver, and the environment
// that was active last time (or blue, lexicon, one replica, on a first start).
import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { resolveAdminToken } from '../config/admin-token.js';
import { GuardgateError } from '../moderation/errors.js';
import { routerSchema } from '../config/router.js';
import { startRouter, type RunningRouter } from '../router/run.js';
import { openAuditReader } from '../store/open.js';
import { controllerSwitch, registerControllerRoutes } from './admin.js';
import { Controller } from './controller.js';
import { LocalDriver } from './drivers/local.js';
import { SqliteControllerStore, type ControllerStore } from './store.js';
import { PostgresControllerStore } from './store-postgres.js';

export interface UpOptions {
  host: string;
  port: number;
  adminPort: number;
  dataDir: string;
  /** Passed to every instance: DATABASE_URL, REDIS_URL. */
  instanceEnv: NodeJS.ProcessEnv;
  logLevel: string;
  /** Tests shorten the router's health checks. */
  healthIntervalMs?: number;
}

export interface RunningUp {
  url: string;
  adminUrl: string;
  tokenFile: string | null;
  token: string;
  controller: Controller;
  router: RunningRouter;
  driver: LocalDriver;
  close(): Promise<void>;
}

/** Where the CLI finds the running controller. */
export const controllerFile = (dataDir: string): string => join(dataDir, 'controller.json');

export async function startUp(options: UpOptions, log: Logger): Promise<RunningUp> {
  mkdirSync(options.dataDir, { recursive: true });
  const { token, file: tokenFile } = resolveAdminToken(undefined, options.dataDir);
  const settings = routerSchema.parse({ host: options.host, port: options.port, dataDir: options.dataDir });
  if (options.healthIntervalMs) settings.health = { ...settings.health, intervalMs: options.healthIntervalMs, unhealthyThreshold: 1, healthyThreshold: 1 };
  // The controller's state goes where the audit goes: PostgreSQL when DATABASE_URL is set, else SQLite.
  const databaseUrl = options.instanceEnv.DATABASE_URL;
  const store: ControllerStore = databaseUrl
    ? new PostgresControllerStore(databaseUrl, options.instanceEnv.GUARDGATE_CONTROLLER_SCHEMA ?? 'public')
    : new SqliteControllerStore(join(options.dataDir, 'controller.sqlite'));
  const driver = new LocalDriver(
    { dataDir: options.dataDir, host: options.host, readyTimeoutMs: 30_000, stopTimeoutMs: 10_000, crashLoopLimit: 3, crashWindowMs: 60_000, env: options.instanceEnv, logLevel: options.logLevel },
    log,
  );
  const holder: { controller?: Controller } = {};
  const current = (): Controller => {
    if (holder.controller === undefined) throw new GuardgateError('invalid_state', 'the controller is still starting');
    return holder.controller;
  };
  const audit = openAuditReader({ databaseUrl: options.instanceEnv.DATABASE_URL, schema: options.instanceEnv.GUARDGATE_AUDIT_SCHEMA, dataDir: options.dataDir });
  const router = await startRouter(settings, { host: options.host, port: options.adminPort, token }, log, {
    audit,
    switchTo: controllerSwitch(current),
    extend: (app) => registerControllerRoutes(app, current),
  });
  const controller = new Controller(store, driver, router.router, log, {
    initial: { color: 'blue', version: 'initial', engine: { kind: 'lexicon' }, policy: 'strict', replicas: 1 },
  });
  try {
    await controller.start();
    holder.controller = controller;
  } catch (error) {
    await router.close();
    await driver.close();
    await store.close();
    throw error;
  }
  writeFileSync(controllerFile(options.dataDir), JSON.stringify({ url: router.url, adminUrl: router.adminUrl, pid: process.pid }, null, 2));
  return {
    url: router.url,
    adminUrl: router.adminUrl,
    tokenFile,
    token,
    controller,
    router,
    driver,
    close: async () => {
      await controller.close();
      await router.close();
      await driver.close();
      await store.close();
      rmSync(controllerFile(options.dataDir), { force: true });
    },
  };
}
