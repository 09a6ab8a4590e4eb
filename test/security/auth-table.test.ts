// The public API's authentication, row by row, against real instances: HS256 with a shared secret,
// RS256 from a PEM key, a remote JWKS with key rotation, and API keys (revocable while running).
// Every refusal is the same body for its code: it never says which check failed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey, revokeApiKey } from '../../src/auth/api-keys.js';
import { loadInstanceConfig } from '../../src/config/instance.js';
import type { RunningInstance } from '../../src/instance/run.js';
import {
  AUDIENCE,
  HS_SECRET,
  ISSUER,
  ecKeyPair,
  rsaKeyPair,
  signToken,
  startJwks,
  tempDir,
  unsignedToken,
  writePem,
  type JwksServer,
} from '../helpers/auth.js';
import { startTestInstance } from '../helpers/instance.js';
import { until } from '../helpers/router.js';

const configFile = (dir: string, value: unknown): string => {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(value));
  return file;
};

const predict = async (instance: RunningInstance, authorization?: string, path = '/predict') => {
  const response = await fetch(`${instance.url}${path}`, {
    method: path === '/predict' ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: path === '/predict' ? JSON.stringify({ prompt: 'How can I kill a Python process?' }) : undefined,
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    body: (await response.json().catch(() => null)) as any,
  };
};

describe('authentication of the public API', () => {
  const dir = tempDir();
  const keysFile = join(dir, 'api-keys.json');
  const rsa = rsaKeyPair();
  const jwksRsa = rsaKeyPair();
  const jwksEc = ecKeyPair();
  const secret = new TextEncoder().encode(HS_SECRET);
  let hs: RunningInstance;
  let pem: RunningInstance;
  let jwksInstance: RunningInstance;
  let jwks: JwksServer;
  let modKey: string;
  let revokedKey: string;
  let previewKey: string;

  beforeAll(async () => {
    modKey = addApiKey(keysFile, 'svc-moderate', ['moderate']);
    revokedKey = addApiKey(keysFile, 'svc-revoked', ['moderate']);
    previewKey = addApiKey(keysFile, 'svc-preview', ['preview']);
    const common = { issuer: ISSUER, audience: AUDIENCE };
    hs = await startTestInstance(
      {
        config: configFile(dir, {
          auth: { jwt: { secret: { env: 'TEST_JWT_SECRET' }, ...common }, apiKeysFile: keysFile },
        }),
      },
      { TEST_JWT_SECRET: HS_SECRET },
    );
    pem = await startTestInstance({
      config: configFile(dir, { auth: { jwt: { publicKeyFile: writePem(rsa.publicKey, dir), ...common } } }),
    });
    jwks = await startJwks([{ kid: 'rsa-1', key: jwksRsa.publicKey, alg: 'RS256' }]);
    jwksInstance = await startTestInstance({
      config: configFile(dir, {
        auth: { jwt: { jwksUrl: jwks.url, ...common, jwksCacheSeconds: 1, jwksCooldownSeconds: 1 } },
      }),
    });
  });
  afterAll(async () => {
    await Promise.all([hs, pem, jwksInstance].map((i) => i?.shutdown()));
    await jwks?.close();
  });

  const hsToken = (overrides: Partial<Parameters<typeof signToken>[0]> = {}) =>
    signToken({ key: secret, alg: 'HS256', scope: 'moderate', ...overrides });

  it.each([
    ['no credentials', async () => undefined],
    ['a malformed header', async () => 'Basic dXNlcjpwYXNz'],
    ['Bearer with nothing', async () => 'Bearer '],
    ['two tokens', async () => `Bearer ${await hsToken()} extra`],
    [
      'a bad signature',
      async () =>
        `Bearer ${await signToken({ key: new TextEncoder().encode('another-secret-that-is-long-enough-32b'), alg: 'HS256', scope: 'moderate' })}`,
    ],
    [
      'alg none',
      async () =>
        `Bearer ${unsignedToken({ sub: 'mallory', scope: 'moderate admin', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })}`,
    ],
    ['an expired token (beyond the 60 s tolerance)', async () => `Bearer ${await hsToken({ expiresIn: -120 })}`],
    ['a token not yet valid', async () => `Bearer ${await hsToken({ notBefore: 180 })}`],
    ['the wrong issuer', async () => `Bearer ${await hsToken({ issuer: 'https://evil.test' })}`],
    ['the wrong audience', async () => `Bearer ${await hsToken({ audience: 'someone-else' })}`],
    ['an unknown API key', async () => 'Bearer gg_not-a-key-that-was-ever-issued-0000000000000'],
    ['an empty subject (the actor would be "jwt:")', async () => `Bearer ${await hsToken({ sub: '' })}`],
    ['a blank subject', async () => `Bearer ${await hsToken({ sub: '   ' })}`],
  ])('401 for %s, with a Bearer challenge and the same body', async (_name, header) => {
    const result = await predict(hs, await header());
    expect(result.status).toBe(401);
    expect(result.challenge).toBe('Bearer realm="guardgate"');
    expect(result.body).toEqual({
      error: { code: 'unauthorized', message: 'missing or invalid credentials: send Authorization: Bearer <token>' },
    });
  });

  it('200 for a valid JWT, one expired within the clock tolerance, and a valid API key', async () => {
    expect((await predict(hs, `Bearer ${await hsToken()}`)).status).toBe(200);
    expect((await predict(hs, `Bearer ${await hsToken({ expiresIn: -20 })}`)).status).toBe(200);
    expect((await predict(hs, `Bearer ${modKey}`)).status).toBe(200);
  });

  it('403 for valid credentials without the moderate scope; /metrics needs the metrics scope', async () => {
    const noScope = await predict(hs, `Bearer ${await hsToken({ scope: 'preview' })}`);
    expect(noScope.status).toBe(403);
    expect(noScope.challenge).toBe('Bearer realm="guardgate", error="insufficient_scope"');
    expect(noScope.body.error.code).toBe('forbidden');
    expect((await predict(hs, `Bearer ${previewKey}`)).status).toBe(403);
    expect((await predict(hs, undefined, '/metrics')).status).toBe(401);
    expect((await predict(hs, `Bearer ${modKey}`, '/metrics')).status).toBe(403);
    expect((await predict(hs, `Bearer ${await hsToken({ scope: 'metrics' })}`, '/metrics')).status).toBe(200);
    // Health, readiness and the playground stay public: load balancers and people need them.
    expect((await fetch(`${hs.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${hs.url}/`)).status).toBe(200);
  });

  it('one rule for every route: where anonymous callers are served, a credential without the scope is served as anonymous, not refused', async () => {
    // Anonymous allowed and API keys configured: /metrics answers anonymous callers, so a moderate key gets no less.
    const open = await startTestInstance({
      config: configFile(dir, { auth: { apiKeysFile: keysFile, anonymous: true } }),
    });
    try {
      expect((await predict(open, undefined, '/metrics')).status).toBe(200);
      expect((await predict(open, `Bearer ${modKey}`, '/metrics')).status).toBe(200);
      expect((await predict(open, `Bearer ${previewKey}`)).status).toBe(200);
      // Where anonymous callers are not served, the scope still decides.
      expect((await predict(hs, `Bearer ${modKey}`, '/metrics')).status).toBe(403);
    } finally {
      await open.shutdown();
    }
  });

  it('a revoked API key stops working without a restart', async () => {
    expect((await predict(hs, `Bearer ${revokedKey}`)).status).toBe(200);
    expect(revokeApiKey(keysFile, 'svc-revoked')).toBe(true);
    await until(async () => (await predict(hs, `Bearer ${revokedKey}`)).status === 401, 10_000);
    expect((await predict(hs, `Bearer ${modKey}`)).status).toBe(200);
  });

  it('RS256 from a PEM key: valid passes; HS256 signed with the public key as secret (algorithm confusion) fails', async () => {
    expect(
      (await predict(pem, `Bearer ${await signToken({ key: rsa.privateKey, alg: 'RS256', scope: 'moderate' })}`))
        .status,
    ).toBe(200);
    const publicPem = Buffer.from(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    expect(
      (await predict(pem, `Bearer ${await signToken({ key: publicPem, alg: 'HS256', scope: 'moderate' })}`)).status,
    ).toBe(401);
    // An ES256 token is refused where RS256 is pinned.
    expect(
      (
        await predict(
          pem,
          `Bearer ${await signToken({ key: ecKeyPair().privateKey, alg: 'ES256', scope: 'moderate' })}`,
        )
      ).status,
    ).toBe(401);
  });

  it('JWKS: an unknown kid fetches the set again; a removed key stops working once the cached set expires', async () => {
    const oldToken = await signToken({ key: jwksRsa.privateKey, alg: 'RS256', kid: 'rsa-1', scope: 'moderate' });
    expect((await predict(jwksInstance, `Bearer ${oldToken}`)).status).toBe(200);
    // Rotation: the issuer publishes a new key next to the old one.
    await jwks.setKeys([
      { kid: 'rsa-1', key: jwksRsa.publicKey, alg: 'RS256' },
      { kid: 'ec-2', key: jwksEc.publicKey, alg: 'ES256' },
    ]);
    const fetchesBefore = jwks.fetches;
    const newToken = await signToken({ key: jwksEc.privateKey, alg: 'ES256', kid: 'ec-2', scope: 'moderate' });
    // Fetched again on the unknown kid, once the one-second cooldown since the last fetch allows.
    await until(async () => (await predict(jwksInstance, `Bearer ${newToken}`)).status === 200, 10_000);
    expect(jwks.fetches).toBeGreaterThan(fetchesBefore);
    expect((await predict(jwksInstance, `Bearer ${oldToken}`)).status).toBe(200); // still published
    // The old key is removed from the set.
    await jwks.setKeys([{ kid: 'ec-2', key: jwksEc.publicKey, alg: 'ES256' }]);
    await until(async () => (await predict(jwksInstance, `Bearer ${oldToken}`)).status === 401, 15_000);
    expect((await predict(jwksInstance, `Bearer ${newToken}`)).status).toBe(200);
  });

  it('refuses a JWKS over plain http off loopback, one without an audience, and a zero cooldown', () => {
    const load = (jwt: Record<string, unknown>) => () =>
      loadInstanceConfig({ config: configFile(dir, { auth: { jwt } }) }, {});
    expect(load({ jwksUrl: 'http://login.example.com/jwks.json', audience: AUDIENCE })).toThrow(
      /a JWKS is fetched over https/,
    );
    expect(load({ jwksUrl: 'https://login.example.com/jwks.json' })).toThrow(/a JWKS needs an audience/);
    expect(
      load({ jwksUrl: 'https://login.example.com/jwks.json', audience: AUDIENCE, jwksCooldownSeconds: 0 }),
    ).toThrow(/jwksCooldownSeconds/);
  });

  it('an instance whose JWKS cannot be fetched at start does not start (fail closed)', async () => {
    await expect(
      startTestInstance({
        config: configFile(dir, {
          auth: { jwt: { jwksUrl: 'http://127.0.0.1:9/jwks.json', issuer: ISSUER, audience: AUDIENCE } },
        }),
      }),
    ).rejects.toThrow(/cannot fetch the JWKS/);
  });

  it('the official OpenAI client passes an API key or a JWT as the bearer', async () => {
    for (const apiKey of [modKey, await hsToken()]) {
      const client = new OpenAI({ baseURL: `${hs.url}/v1`, apiKey, maxRetries: 0 });
      const moderation = await client.moderations.create({ input: 'I want to kill myself tonight' });
      expect(moderation.results[0]!.flagged).toBe(true);
    }
    const anonymous = new OpenAI({ baseURL: `${hs.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await expect(anonymous.moderations.create({ input: 'hello' })).rejects.toMatchObject({ status: 401 });
  });
});
