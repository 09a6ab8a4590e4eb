// The router's configuration: defaults, then a YAML file, then environment variables, then flags.
import { z } from 'zod';
import type { RouterSettings } from '../router/settings.js';
import { merge, readYamlFile, validate } from './load.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const urlList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
  z.array(z.url({ protocol: /^https?$/ })),
);
const poolSchema = z.object({ version: z.string().min(1).nullable().default(null), instances: urlList.default([]) }).prefault({});

export const routerSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8080),
  previewPort: port.nullable().default(null),
  admin: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(8081),
      /** Bearer token for /admin/*; when unset, one is made and written to the data directory. */
      token: z.string().min(16, 'the admin token must be at least 16 characters').optional(),
    }).prefault({}),
  dataDir: z.string().min(1).default('.guardgate'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  active: z.enum(['blue', 'green']).default('blue'),
  pools: z.object({ blue: poolSchema, green: poolSchema }).prefault({}),
  bodyLimitBytes: positiveInt.default(2 * 1_048_576),
  upstream: z
    .object({ timeoutMs: positiveInt.default(30_000), connections: positiveInt.default(128) }).prefault({}),
  health: z
    .object({
      intervalMs: positiveInt.default(1_000),
      timeoutMs: positiveInt.default(500),
      path: z.string().startsWith('/').default('/readyz'),
      unhealthyThreshold: positiveInt.default(2),
      healthyThreshold: positiveInt.default(2),
    }).prefault({}),
  retry: z
    .object({ ratio: z.coerce.number().min(0).max(1).default(0.2), minPerSecond: z.coerce.number().min(0).default(10), windowSeconds: positiveInt.default(10) }).prefault({}),
  mirror: z.object({ maxInFlight: positiveInt.default(64) }).prefault({}),
});

export type RouterConfig = z.output<typeof routerSchema> & RouterSettings;

export interface RouterFlags {
  config?: string;
  host?: string;
  port?: string;
  previewPort?: string;
  adminHost?: string;
  adminPort?: string;
  adminToken?: string;
  dataDir?: string;
  active?: string;
  blue?: string;
  green?: string;
  blueVersion?: string;
  greenVersion?: string;
  logLevel?: string;
}

export function loadRouterConfig(flags: RouterFlags, env: NodeJS.ProcessEnv): RouterConfig {
  const file = flags.config ?? env.GUARDGATE_ROUTER_CONFIG;
  const fromEnv = {
    port: env.GUARDGATE_PORT,
    dataDir: env.GUARDGATE_DATA_DIR,
    logLevel: env.GUARDGATE_LOG_LEVEL,
    admin: { port: env.GUARDGATE_ADMIN_PORT, token: env.GUARDGATE_ADMIN_TOKEN },
  };
  const fromFlags = {
    host: flags.host,
    port: flags.port,
    previewPort: flags.previewPort,
    dataDir: flags.dataDir,
    logLevel: flags.logLevel,
    active: flags.active,
    admin: { host: flags.adminHost, port: flags.adminPort, token: flags.adminToken },
    pools: { blue: { instances: flags.blue, version: flags.blueVersion }, green: { instances: flags.green, version: flags.greenVersion } },
  };
  return validate(routerSchema, merge(file ? readYamlFile(file) : {}, fromEnv, fromFlags), file ?? 'flags and environment') as RouterConfig;
}
