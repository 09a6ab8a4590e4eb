// The admin plane of `guardgate up` cannot be reached around its credentials: every admin route, however
// its path is spelled, needs the admin scope; the public port does not lead to it; the admin API and the
// instances stay on loopback whatever --host says; every admin action is recorded with its actor.
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import { DEFAULT_SUITE_PATH } from '../../src/gates/suite.js';
import { apiKeysFile } from '../../src/app/up.js';
import { HS_SECRET, signToken } from '../helpers/auth.js';
import { tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { runCli } from '../helpers/cli.js';
import { startTestUp } from '../helpers/up.js';

interface Raw {
  status: number;
  body: string;
}

/** A request with the path exactly as given: no URL normalisation on the way. */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Raw> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ADMIN_ROUTES: Array<[method: string, path: string, body?: unknown]> = [
  ['GET', '/admin/status'],
  ['GET', '/admin/traffic'],
  ['GET', '/admin/audit'],
  ['GET', '/admin/controller'],
  ['GET', '/admin/releases'],
  ['GET', '/admin/releases/current'],
  ['POST', '/admin/switch', { color: 'green', force: true }],
  ['PUT', '/admin/weights', { standby: 50 }],
  ['PUT', '/admin/mirror', { fraction: 1 }],
  ['PUT', '/admin/pools/blue', { instances: ['http://127.0.0.1:9'] }],
  ['POST', '/admin/releases', { version: 'evil' }],
  ['POST', '/admin/promote', { force: true }],
  ['POST', '/admin/abort', {}],
  ['POST', '/admin/rollback', {}],
  ['POST', '/admin/gates/run', { gates: ['load'] }],
];

/** Spellings of one admin path that a URL-string check would miss. */
const SPELLINGS = (path: string): string[] => [
  path,
  path.replace('/admin/', '/%61dmin/'),
  path.replace('/admin/', '/%61%64%6d%69%6e/'),
  `/${path}`,
  path.replace('/admin/', '/admin/../admin/'),
  path.replace('/admin/', '/./admin/'),
  path.replace('/admin/', '/ADMIN/'),
  path.replace('/admin/', '/admin%2F'),
  `${path}?x=/healthz`,
  `${path}#frag`,
];

describe('the admin plane of guardgate up', () => {
  let up: Awaited<ReturnType<typeof startTestUp>>;
  let moderateKey: string;
  let adminKey: string;

  beforeAll(async () => {
    const dataDir = tempDataDir();
    moderateKey = addApiKey(apiKeysFile(dataDir), 'svc-moderate', ['moderate']);
    adminKey = addApiKey(apiKeysFile(dataDir), 'ops-alice', ['admin']);
    up = await startTestUp(dataDir, { GUARDGATE_JWT_SECRET: HS_SECRET, GUARDGATE_JWT_ISSUER: 'https://issuer.test' });
  });
  afterAll(async () => up?.close());

  it("refuses every admin route, in every spelling, without credentials, with a wrong token, and with a moderate-only credential or the gates' token", async () => {
    // What gate traffic carries to candidates: a candidate that records it must not get into the admin API.
    const gateToken = readFileSync(join(up.dataDir, 'gate-token'), 'utf8').trim();
    const moderateJwt = await signToken({
      key: new TextEncoder().encode(HS_SECRET),
      alg: 'HS256',
      scope: 'moderate',
      issuer: 'https://issuer.test',
    });
    const attempts: Array<[string, string, Record<string, string>]> = [];
    for (const [method, path] of ADMIN_ROUTES) {
      for (const spelled of SPELLINGS(path)) {
        attempts.push([method, spelled, {}]);
        attempts.push([method, spelled, { authorization: 'Bearer not-the-admin-token-at-all' }]);
      }
      attempts.push([method, path, { authorization: `Bearer ${moderateKey}` }]);
      attempts.push([method, path, { authorization: `Bearer ${moderateJwt}` }]);
      attempts.push([method, path, { authorization: `Bearer ${gateToken}` }]);
    }
    const refusals = new Map<number, number>();
    for (const [method, path, headers] of attempts) {
      const body = ADMIN_ROUTES.find(([m, p]) => m === method && path.includes(p.slice(7)))?.[2];
      const result = await raw(
        up.adminUrl,
        method,
        path,
        headers,
        body === undefined ? undefined : JSON.stringify(body),
      );
      expect(
        [401, 403, 404],
        `${method} ${path} ${JSON.stringify(headers)} answered ${result.status} ${result.body}`,
      ).toContain(result.status);
      expect(() => JSON.parse(result.body)).not.toThrow();
      refusals.set(result.status, (refusals.get(result.status) ?? 0) + 1);
    }
    // Credentials without the admin scope are a 403 on every route; the rest never got in.
    expect(refusals.get(403)).toBe(ADMIN_ROUTES.length * 3);
    const status = await up.controller.status();
    expect(status.active).toBe('blue');
    expect(await up.router.router.status()).toMatchObject({ standbyWeight: 0, mirrorFraction: 0 });
    expect(status.release).toBeNull();
  });

  it('the public port does not lead to the admin API', async () => {
    for (const [method, path] of ADMIN_ROUTES) {
      for (const spelled of SPELLINGS(path)) {
        const result = await raw(up.url, method, spelled, {}, method === 'GET' ? undefined : '{}');
        expect(result.status, `${method} ${spelled} on the public port`).toBeGreaterThanOrEqual(400);
        expect(result.status).toBeLessThan(500);
      }
    }
    expect(up.router.router.active).toBe('blue');
  });

  it('the admin token, an API key with scope admin, or a JWT with scope admin get in; the actor is recorded', async () => {
    expect((await raw(up.adminUrl, 'GET', '/admin/status', { authorization: `Bearer ${up.token}` })).status).toBe(200);
    expect((await raw(up.adminUrl, 'GET', '/%61dmin/status', { authorization: `Bearer ${up.token}` })).status).toBe(
      200,
    );
    expect((await raw(up.adminUrl, 'GET', '/admin/status', { authorization: `Bearer ${adminKey}` })).status).toBe(200);
    const adminJwt = await signToken({
      key: new TextEncoder().encode(HS_SECRET),
      alg: 'HS256',
      scope: 'admin',
      sub: 'bob@example.com',
      issuer: 'https://issuer.test',
    });
    const started = await raw(
      up.adminUrl,
      'POST',
      '/admin/releases',
      { authorization: `Bearer ${adminJwt}` },
      JSON.stringify({
        version: 'v2',
        gates: {
          functional: { enabled: false },
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { enabled: false },
        },
      }),
    );
    expect(started.status).toBe(202);
    await until(async () => (await up.controller.status()).release?.state === 'stable', 30_000);
    await raw(up.adminUrl, 'POST', '/admin/rollback', { authorization: `Bearer ${adminKey}` });
    const release = (await up.controller.status()).release!;
    expect(release.state).toBe('rolled_back');
    expect(release.transitions[0]!.actor).toBe('jwt:bob@example.com');
    expect(release.transitions.at(-1)!.actor).toBe('api_key:ops-alice');
  });

  it('a release spec over HTTP reads no file of the server: a suite or corpus path outside the shipped suites is refused with one answer, quoting nothing', async () => {
    const secretFile = join(tempDataDir(), 'secret.yaml');
    writeFileSync(secretFile, 'root:x:0:0:root\nhunter2-line-of-a-secret\n');
    const shipped = DEFAULT_SUITE_PATH;
    const post = (gates: unknown) =>
      raw(
        up.adminUrl,
        'POST',
        '/admin/releases',
        { authorization: `Bearer ${up.token}`, 'content-type': 'application/json' },
        JSON.stringify({ version: 'files', gates }),
      );
    const paths = [
      secretFile,
      '/etc/passwd',
      '/nonexistent/suite.yaml',
      '/etc',
      `${dirname(shipped)}/../package.json`,
      `${dirname(shipped)}/nonexistent.yaml`,
      'suites/default.yaml',
    ];
    const answers = new Set<string>();
    for (const path of paths) {
      for (const gates of [{ functional: { suite: path } }, { shadow: { replay: { corpus: path } } }]) {
        const answer = await post(gates);
        expect(answer.status, `${JSON.stringify(gates)}`).toBe(400);
        const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('invalid_request');
        expect(answer.body).not.toMatch(/root:x|hunter2|ENOENT|EISDIR|not valid YAML|Unrecognized/);
        answers.add(body.error.message.replace(/^gates\.(functional\.suite|shadow\.replay\.corpus): /, ''));
      }
    }
    expect([...answers]).toHaveLength(1); // the same whether the file exists, is a folder, or is outside
    expect((await up.controller.status()).release?.version).not.toBe('files');
    // A shipped suite by path, or a suite of one's own inline, is accepted (the CLI sends files inline).
    const inline = { name: 'mine', cases: [{ name: 'greeting', prompt: 'Hello there', expect: { safety: 'Safe' } }] };
    const accepted = await post({
      functional: { suite: inline },
      load: { enabled: false },
      shadow: { durationSeconds: 2, samples: 20, minSamples: 5, replay: { corpus: shipped } },
      watch: { enabled: false },
    });
    expect(accepted.status, accepted.body).toBe(202);
    await until(
      async () => ['stable', 'aborted'].includes((await up.controller.status()).release?.state ?? ''),
      60_000,
      'the release with an inline suite settled',
    );
    const release = (await up.controller.status()).release!;
    expect(release.state, release.gates.map((g) => g.summary).join('; ')).toBe('stable');
    expect(release.gates[0]).toMatchObject({
      gate: 'functional',
      passed: true,
      summary: expect.stringMatching(/^1\/1 cases passed/),
    });
    await raw(up.adminUrl, 'POST', '/admin/rollback', { authorization: `Bearer ${up.token}` });
  });
});

describe('listeners of guardgate up', () => {
  it('with --host 0.0.0.0 only the public listener moves: the admin API and the instances stay on loopback', async () => {
    const dataDir = tempDataDir();
    addApiKey(apiKeysFile(dataDir), 'svc', ['moderate']);
    const up = await startTestUp(dataDir, {}, { host: '0.0.0.0' });
    try {
      expect(new URL(up.url).hostname).toBe('0.0.0.0');
      expect(new URL(up.adminUrl).hostname).toBe('127.0.0.1');
      for (const instance of up.driver.describe('blue')!.instances)
        expect(new URL(instance.url).hostname).toBe('127.0.0.1');
      // /predict on the public listener needs credentials now that keys exist.
      expect(
        (await raw(up.url.replace('0.0.0.0', '127.0.0.1'), 'POST', '/predict', {}, JSON.stringify({ prompt: 'hi' })))
          .status,
      ).toBe(401);
    } finally {
      await up.close();
    }
  });

  it('refuses a non-loopback public listener without credentials configured, unless --insecure', async () => {
    await expect(startTestUp(tempDataDir(), {}, { host: '0.0.0.0' })).rejects.toThrow(
      /refusing to serve \/predict without authentication/,
    );
    const up = await startTestUp(tempDataDir(), {}, { host: '0.0.0.0', insecure: true });
    await up.close();
  });

  it('a loopback up with no credentials serves /predict to anyone, and says so', async () => {
    const up = await startTestUp(tempDataDir());
    try {
      expect(up.access).toMatch(/anyone/);
      expect((await raw(up.url, 'POST', '/predict', {}, JSON.stringify({ prompt: 'hi' }))).status).toBe(200);
    } finally {
      await up.close();
    }
  });
});

describe('the admin log under a flood of refused requests', () => {
  it('refused admin requests are logged a few times with a count, not once each; accepted actions each', async () => {
    const dataDir = tempDataDir();
    const cli = runCli(['up', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, '--log-level', 'info']);
    const ready = (await cli.logLine('guardgate is up', 60_000)) as { adminUrl: string };
    for (let i = 0; i < 300; i++)
      await raw(
        ready.adminUrl,
        'POST',
        '/admin/switch',
        { authorization: i % 2 ? 'Bearer wrong-token-0123456789' : '' },
        '{"color":"green"}',
      );
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    expect(
      (await raw(ready.adminUrl, 'POST', '/admin/abort', { authorization: `Bearer ${token}` }, '{}')).status,
    ).toBeGreaterThanOrEqual(200);
    await until(() => cli.stdout().includes('"route":"/admin/abort"'), 5_000, 'the accepted action logged');
    const lines = cli
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"admin'));
    const refused = lines.filter((line) => /"status":40[13]/.test(line) || line.includes('refused'));
    expect(refused.length).toBeLessThanOrEqual(3);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.join('\n')).toMatch(/"refused":\d+/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
