// `guardgate keys` as an operator uses it, and the CLI's own calls with a credential (validate, bench).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningInstance } from '../../src/instance/run.js';
import { runCli } from '../helpers/cli.js';
import { startTestInstance, tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';

const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const run = runCli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
};

describe('guardgate keys', () => {
  const dataDir = tempDataDir();
  const file = join(dataDir, 'api-keys.json');
  let key: string;
  let instance: RunningInstance;

  beforeAll(async () => {
    const added = await cli(['keys', 'add', 'ci-pipeline', '--scopes', 'moderate,preview', '--data-dir', dataDir]);
    expect(added.code).toBe(0);
    key = added.stdout.trim();
    instance = await startTestInstance({ apiKeys: file });
  });
  afterAll(async () => instance?.shutdown());

  it('prints the key once and stores only its digest', async () => {
    expect(key).toMatch(/^gg_[\w-]{43}$/);
    const stored = readFileSync(file, 'utf8');
    expect(stored).not.toContain(key);
    expect(JSON.parse(stored).keys[0]).toMatchObject({
      name: 'ci-pipeline',
      scopes: ['moderate', 'preview'],
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const listed = await cli(['keys', 'list', '--data-dir', dataDir]);
    expect(listed.stdout).toMatch(/^ci-pipeline\tmoderate,preview\t\d{4}-/);
    expect(listed.stdout).not.toContain(key);
  });

  it('refuses a duplicate name, an unknown scope and an unknown key to revoke, as usage errors', async () => {
    expect((await cli(['keys', 'add', 'ci-pipeline', '--data-dir', dataDir])).code).toBe(2);
    const badScope = await cli(['keys', 'add', 'x', '--scopes', 'root', '--data-dir', dataDir]);
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toContain('--scopes takes moderate, preview, metrics and admin');
    expect((await cli(['keys', 'revoke', 'nobody', '--data-dir', dataDir])).code).toBe(2);
  });

  it('validate and bench send the key; without it the suite fails on 401', async () => {
    const withKey = await cli(['validate', '--endpoint', instance.url, '--token', key]);
    expect(withKey.code).toBe(0);
    const withoutKey = await cli(['validate', '--endpoint', instance.url]);
    expect(withoutKey.code).toBe(3);
    expect(withoutKey.stdout).toContain('HTTP 401 unauthorized');
    const bench = await cli(['bench', '--endpoint', instance.url, '--duration', '1', '--connections', '2', '--json'], {
      GUARDGATE_TOKEN: key,
    });
    expect(bench.code).toBe(0);
    expect(JSON.parse(bench.stdout).errorRate).toBe(0);
    // For a person: a progress line each second on stderr, the figures on stdout.
    const watched = await cli(['bench', '--endpoint', instance.url, '--duration', '2', '--connections', '2'], {
      GUARDGATE_TOKEN: key,
    });
    expect(watched.code).toBe(0);
    expect(watched.stderr).toMatch(/ 1\/2 s {2}\d+ requests {2}0 failed\n {2}2\/2 s {2}\d+ requests {2}0 failed/);
    expect(watched.stdout).toMatch(/^requests \d+ {2}QPS \d+ {2}p50 [\d.]+ ms {2}p99 [\d.]+ ms {2}errors 0\.00%\n$/);
  });

  it('a revoked key is refused by the running instance', async () => {
    expect((await cli(['keys', 'revoke', 'ci-pipeline', '--data-dir', dataDir])).code).toBe(0);
    const refused = async () =>
      (
        await fetch(`${instance.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: '{"prompt":"hi"}',
        })
      ).status === 401;
    await until(refused, 10_000);
  });
});
