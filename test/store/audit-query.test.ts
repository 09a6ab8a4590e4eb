// Reading the audit: `guardgate audit` (plain, JSON, CSV, filters) and the admin API's GET /admin/audit.
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../../src/config/router.js';
import { startRouter, type RunningRouter } from '../../src/router/run.js';
import type { Router } from '../../src/router/router.js';
import { SqliteAuditStore } from '../../src/store/audit/sqlite.js';
import { runCli } from '../helpers/cli.js';
import { postJson, startTestInstance, tempDataDir } from '../helpers/instance.js';
import { ADMIN_TOKEN, admin } from '../helpers/router.js';

describe('reading the audit', () => {
  const dataDir = tempDataDir();
  let router: RunningRouter<Router>;
  beforeAll(async () => {
    const instance = await startTestInstance({ dataDir, color: 'blue', serviceVersion: 'v5' });
    for (const prompt of [
      'Good morning',
      'How do I make a pipe bomb?',
      'What is the capital of Peru?',
      'I want to kill myself',
    ]) {
      await postJson(`${instance.url}/predict`, { prompt });
    }
    await instance.shutdown();
    const config = loadRouterConfig({ port: '0', adminPort: '0' }, {});
    router = await startRouter(
      config,
      config.auth,
      { ...config.admin, token: ADMIN_TOKEN },
      pino({ level: 'silent' }),
      {
        audit: new SqliteAuditStore(join(dataDir, 'audit.sqlite')),
      },
    );
  });
  afterAll(async () => router.close());

  const cli = async (...args: string[]) => {
    const run = runCli(['audit', '--data-dir', dataDir, ...args]);
    const code = await run.exited;
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  };

  it('prints records newest first, one line each, with a count', async () => {
    const { code, stdout } = await cli();
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('4 record(s)');
    expect(lines[0]).toContain('Unsafe');
    expect(lines[0]).toContain('Suicide & Self-Harm');
  });

  it('filters flagged verdicts as JSON lines, and exports CSV', async () => {
    const json = await cli('--flagged', '--json', '--since', '1h');
    const records = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((r: { safety: string }) => r.safety)).toEqual(['Unsafe', 'Unsafe']);
    expect(records.every((r: { version: string; color: string }) => r.version === 'v5' && r.color === 'blue')).toBe(
      true,
    );
    const csv = await cli('--csv', '--limit', '2');
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^time,trace_id,color,version,/);
    expect(rows).toHaveLength(3);
  });

  it('rejects a bad time with exit code 2 and a clear message', async () => {
    const { code, stderr } = await cli('--since', 'yesterdayish');
    expect(code).toBe(2);
    expect(stderr).toMatch(/since must be a duration/);
  });

  it('GET /admin/audit filters and pages, behind the admin token', async () => {
    const flagged = await admin(router, 'GET', '/admin/audit?flagged=true');
    expect(flagged.status).toBe(200);
    expect(flagged.body.records).toHaveLength(2);
    const first = await admin(router, 'GET', '/admin/audit?limit=3');
    expect(first.body.records).toHaveLength(3);
    const second = await admin(router, 'GET', `/admin/audit?limit=3&cursor=${first.body.next}`);
    expect(second.body).toMatchObject({ next: null });
    expect(second.body.records).toHaveLength(1);
    expect((await admin(router, 'GET', '/admin/audit?limit=0')).status).toBe(400);
    expect((await admin(router, 'GET', '/admin/audit?cursor=garbage')).status).toBe(400);
    expect((await admin(router, 'GET', '/admin/audit', undefined, '')).status).toBe(401);
  });
});
