// The router's secret in the mirror header marks a copy of a moderation request (answered, not audited, not
// authenticated again: the original was). It opens nothing else: on every other route the caller needs its own
// credential, as if the header were not there.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import type { RunningInstance } from '../../src/instance/run.js';
import { tempDir } from '../helpers/auth.js';
import { ROUTER_SECRET, startTestInstance } from '../helpers/instance.js';

describe('the mirror header', () => {
  const dir = tempDir();
  let instance: RunningInstance;
  let key: string;

  beforeAll(async () => {
    const keysFile = join(dir, 'api-keys.json');
    key = addApiKey(keysFile, 'svc-admin', ['moderate', 'metrics', 'admin']);
    const config = join(dir, 'config.yaml');
    writeFileSync(config, stringify({ auth: { apiKeysFile: keysFile } }));
    instance = await startTestInstance({ config });
  });
  afterAll(async () => {
    await instance?.shutdown();
  });

  const call = async (method: string, path: string, headers: Record<string, string>) => {
    const response = await fetch(`${instance.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'POST' ? JSON.stringify(path === '/predict' ? { prompt: 'hello' } : { seconds: 1 }) : undefined,
    });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };

  it('lets a mirrored copy of a moderation request through without a credential of its own', async () => {
    const mirrored = await call('POST', '/predict', { 'x-guardgate-mirror': ROUTER_SECRET });
    expect(mirrored.status).toBe(200);
    expect(mirrored.body.safety).toBeDefined();
    // Without the secret the same request needs a credential.
    expect((await call('POST', '/predict', {})).status).toBe(401);
  });

  it.each([
    ['GET', '/metrics'],
    ['GET', '/whoami'],
    ['POST', '/admin/reconnect'],
  ])('opens nothing else: %s %s with the router secret alone is refused 401', async (method, path) => {
    const refused = await call(method, path, { 'x-guardgate-mirror': ROUTER_SECRET });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    // The caller's own credential is judged as usual beside the header.
    const allowed = await call(method, path, { 'x-guardgate-mirror': ROUTER_SECRET, authorization: `Bearer ${key}` });
    expect(allowed.status).toBe(200);
  });
});
