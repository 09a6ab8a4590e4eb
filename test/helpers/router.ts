// Start a router for a test, configured as a user would, with a fixed admin token.
import { pino } from 'pino';
import { loadRouterConfig, type RouterFlags } from '../../src/config/router.js';
import type { Router } from '../../src/router/router.js';
import { startRouter, type RunningRouter } from '../../src/router/run.js';
import { ROUTER_SECRET } from './instance.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export async function startTestRouter(
  flags: RouterFlags = {},
  file?: string,
  env: NodeJS.ProcessEnv = { GUARDGATE_ROUTER_SECRET: ROUTER_SECRET },
): Promise<RunningRouter<Router>> {
  const config = loadRouterConfig(
    { port: '0', adminPort: '0', logLevel: 'silent', ...(file ? { config: file } : {}), ...flags },
    env,
  );
  // Fast health checks, so that tests see ejection and recovery quickly (a test's own file decides otherwise).
  if (file === undefined)
    config.health = { ...config.health, intervalMs: 100, timeoutMs: 1_000, unhealthyThreshold: 1, healthyThreshold: 1 };
  return startRouter(config, config.auth, { ...config.admin, token: ADMIN_TOKEN }, pino({ level: 'silent' }));
}

export async function admin(router: RunningRouter, method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  const response = await fetch(`${router.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/**
 * Wait until `condition` holds, checking every 20 ms; past `timeoutMs`, fail saying what was waited for: `what`,
 * or else the condition's own source (`() => served.length > 300`), never a bare "the condition".
 */
export const until = async (
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what?: string,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(
        `not met within ${timeoutMs} ms: ${what ?? condition.toString().replace(/\s+/g, ' ').slice(0, 300)}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
};
