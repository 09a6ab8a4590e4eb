// Start a real instance on a loopback port for a test, configured as a user would (flags and environment).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInstanceConfig, type InstanceFlags } from '../../src/config/instance.js';
import { startInstance, type RunningInstance } from '../../src/instance/run.js';

/** A data directory of its own for each test instance. */
export const tempDataDir = (): string => mkdtempSync(join(tmpdir(), 'guardgate-data-'));

/** The router secret the test instances share with the test routers (mirrored copies carry it). */
export const ROUTER_SECRET = 'test-router-secret-0123456789abcdef';

export async function startTestInstance(
  flags: InstanceFlags = {},
  env: NodeJS.ProcessEnv = {},
): Promise<RunningInstance> {
  const config = loadInstanceConfig(
    { host: '127.0.0.1', port: '0', logLevel: 'silent', dataDir: tempDataDir(), ...flags },
    { GUARDGATE_ROUTER_SECRET: ROUTER_SECRET, ...env },
  );
  return startInstance(config);
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}
