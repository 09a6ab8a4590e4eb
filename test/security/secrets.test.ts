// Secrets are named, never written: a canary API key given to a release by reference reaches the model
// server and nothing else: no file in the data directory, no table, no log line, no API response.
// Gate evidence keeps users' text only as the audit policy allows.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../src/config/router.js';
import { ShadowComparator } from '../../src/gates/shadow.js';
import { parseReleaseSpec } from '../../src/release/spec.js';
import { startUp, type RunningUp } from '../../src/app/up.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { tempDataDir } from '../helpers/instance.js';

const CANARY = 'sk-canary-3f9a7c1e5b2d4f60';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('secrets by reference', () => {
  let up: RunningUp;
  let fake: FakeOpenAI;
  const dataDir = tempDataDir();
  let logs = '';

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((logs += chunk.toString()), done()) });
    up = await startUp(
      {
        router: parseRouterConfig(
          { port: '0', adminPort: '0', dataDir },
          { GUARDGATE_RELEASE_SECRETS: 'CANARY_VLLM_KEY' },
        ),
        instanceEnv: { ...process.env, CANARY_VLLM_KEY: CANARY },
        logLevel: 'debug',
        healthIntervalMs: 100,
      },
      pino({ level: 'trace' }, sink),
    );
  });
  afterAll(async () => {
    await up?.close();
    await fake?.close();
  });

  it('refuses a spec that writes a secret value in place', () => {
    expect(() =>
      parseReleaseSpec(
        { version: 'v2', engine: { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', apiKey: CANARY } },
        'spec.yaml',
      ),
    ).toThrow(/engine.apiKey: a secret reference: \{ env: NAME \} or \{ file: PATH \}/);
  });

  it('refuses a spec that names a secret the operator did not list for releases: it could send it anywhere', async () => {
    const admin = (body: unknown) =>
      fetch(`${up.adminUrl}/admin/releases`, {
        method: 'POST',
        headers: { authorization: `Bearer ${up.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const apiKey of [
      { env: 'GUARDGATE_ROUTER_SECRET' },
      { env: 'DATABASE_URL' },
      { file: join(dataDir, 'admin-token') },
      { file: '/etc/passwd' },
    ]) {
      const response = await admin({
        version: 'exfiltrate',
        engine: { kind: 'openai', baseUrl: fake.baseUrl, apiKey },
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
        /^engine.apiKey: the (environment variable|file) .* (is not one a release may name|is not in a directory a release may read)/,
      );
    }
    expect(fake.received).toHaveLength(0);
    expect((await up.controller.status()).release).toBeNull();
  });

  it('the key reaches the model server, and no file, table, log line or API response', async () => {
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${up.adminUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${up.token}`, 'content-type': 'application/json' },
      });
    const spec = {
      version: 'vllm-canary',
      engine: { kind: 'openai', baseUrl: `${fake.baseUrl}`, apiKey: { env: 'CANARY_VLLM_KEY' } },
      gates: {
        functional: { enabled: false },
        load: { enabled: false },
        shadow: { enabled: false },
        watch: { enabled: false },
      },
    };
    expect((await admin('/admin/releases', { method: 'POST', body: JSON.stringify(spec) })).status).toBe(202);
    await up.controller.settled();
    expect((await up.controller.status()).release!.state).toBe('stable');
    const served = await fetch(`${up.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello' }),
    });
    expect(served.status).toBe(200);
    expect(fake.received.some((r) => r.headers.authorization === `Bearer ${CANARY}`)).toBe(true);

    const responses = await Promise.all(
      ['/admin/controller', '/admin/releases', '/admin/releases/current', '/admin/status', '/admin/audit'].map(
        async (p) => (await admin(p)).text(),
      ),
    );
    for (const text of responses) expect(text).not.toContain(CANARY);
    expect(responses[0]).toContain('CANARY_VLLM_KEY'); // the reference is shown, so an operator can see where it comes from
    for (const file of filesUnder(dataDir)) expect(readFileSync(file).includes(CANARY), file).toBe(false);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(CANARY);
  });
});

describe('secret files of releases are judged by their real path, when checked and when read', () => {
  let up: RunningUp;
  let fake: FakeOpenAI;
  const dataDir = tempDataDir();
  const secrets = mkdtempSync(join(tmpdir(), 'guardgate-release-secrets-'));
  const admin = (body: unknown) =>
    fetch(`${up.adminUrl}/admin/releases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${up.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const spec = (file: string, version: string) => ({
    version,
    engine: { kind: 'openai', baseUrl: fake.baseUrl, apiKey: { file } },
    gates: {
      functional: { enabled: false },
      load: { enabled: false },
      shadow: { enabled: false },
      watch: { enabled: false },
    },
  });

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const configFile = join(secrets, '..', `${basename(secrets)}.yaml`);
    writeFileSync(configFile, `releaseSecrets:\n  dirs: [${secrets}]\n`);
    up = await startUp(
      {
        router: parseRouterConfig({ port: '0', adminPort: '0', dataDir, config: configFile }, {}),
        instanceEnv: { ...process.env },
        logLevel: 'warn',
        healthIntervalMs: 100,
      },
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await up?.close();
    await fake?.close();
  });

  it('a link in an allowed folder to the admin token, or to any file outside, is refused; the token never leaves', async () => {
    symlinkSync(join(dataDir, 'admin-token'), join(secrets, 'token-link'));
    symlinkSync('/etc/hostname', join(secrets, 'outside-link'));
    symlinkSync(dataDir, join(secrets, 'data-dir-link'));
    for (const file of [
      join(secrets, 'token-link'),
      join(secrets, 'outside-link'),
      join(secrets, 'data-dir-link', 'admin-token'),
    ]) {
      const response = await admin(spec(file, 'exfiltrate'));
      expect(response.status, file).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
        /^engine.apiKey: the file .* is not in a directory a release may read/,
      );
    }
    expect((await up.controller.status()).release).toBeNull();
    expect(fake.received).toHaveLength(0);
  });

  it('a file swapped for such a link after the check is judged again when it is read: the token never leaves', async () => {
    const file = join(secrets, 'swapped');
    writeFileSync(file, 'sk-harmless-0123456789');
    expect((await admin(spec(file, 'swap'))).status).toBe(202);
    rmSync(file);
    symlinkSync(join(dataDir, 'admin-token'), file);
    await up.controller.settled();
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    await fetch(`${up.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello' }),
    });
    expect(fake.received.filter((r) => String(r.headers.authorization).includes(token))).toEqual([]);
    const release = (await up.controller.status()).release!;
    // Either read before the swap (the harmless key) or refused at read time: never the token.
    if (release.state !== 'stable') expect(release.note).toMatch(/not in a directory a release may read/);
    if (release.state === 'stable') await up.controller.view(await up.controller.rollback());
  });

  it('a link that stays inside the allowed folder (as Kubernetes mounts secrets: ..data/key) is followed', async () => {
    mkdirSync(join(secrets, '..data'));
    writeFileSync(join(secrets, '..data', 'vllm-key'), 'sk-inside-987654321');
    symlinkSync(join('..data', 'vllm-key'), join(secrets, 'vllm-key'));
    expect((await admin(spec(join(secrets, 'vllm-key'), 'inside'))).status).toBe(202);
    await up.controller.settled();
    expect((await up.controller.status()).release).toMatchObject({ version: 'inside', state: 'stable' });
    await fetch(`${up.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello' }),
    });
    expect(fake.received.some((r) => r.headers.authorization === 'Bearer sk-inside-987654321')).toBe(true);
  });
});

describe('shadow evidence follows the audit text policy', () => {
  const pair = (prompt: string) => ({
    request: { method: 'POST', path: '/predict', headers: [], body: Buffer.from(JSON.stringify({ prompt })) },
    active: {
      color: 'blue' as const,
      version: 'v1',
      status: 200,
      latencyMs: 1,
      body: Buffer.from(JSON.stringify({ safety: 'Unsafe', categories: ['PII'] })),
    },
    standby: {
      color: 'green' as const,
      version: 'v2',
      status: 200,
      latencyMs: 1,
      body: Buffer.from(JSON.stringify({ safety: 'Safe', categories: [] })),
    },
    at: new Date(),
  });
  const text = 'my card is 4111 1111 1111 1111, call me';
  const rule = { minAgreement: 0.9, maxUnsafeToSafe: 0, minSamples: 1 };
  const example = (mode: 'none' | 'redacted' | 'full') => {
    const comparator = new ShadowComparator(rule, mode);
    comparator.add(pair(text));
    return comparator.report().disagreements[0]!.request;
  };

  it('none: a digest only; redacted: PII masked; full: the text', () => {
    expect(example('none')).toEqual({ digest: expect.stringMatching(/^[0-9a-f]{64}$/), prompt: null, response: null });
    expect(example('redacted').prompt).toBe('my card is [PAYMENT_CARD], call me');
    expect(example('full').prompt).toBe(text);
    expect(example('none').digest).toBe(example('full').digest);
  });
});
