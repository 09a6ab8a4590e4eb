// The audit trail never breaks: blue and green write to one PostgreSQL; across 50 switches under load,
// followed by SIGTERM of the old environment, the audit holds exactly one record per 2xx verdict served.
import autocannon from 'autocannon';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresAuditStore } from '../../src/store/audit/postgres.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { ADMIN_TOKEN, until } from '../helpers/router.js';
import { POSTGRES_URL, dropSchema, postgresReachable, requireService, testSchema } from '../helpers/services.js';

describe('audit across switches', () => {
  const processes: CliProcess[] = [];
  const schema = testSchema();
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    if (await postgresReachable()) await dropSchema(schema);
  });

  it('one record per 2xx verdict across 50 switches under load and a SIGTERM of the old environment', async (context) => {
    if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note)))
      return;
    const env = { DATABASE_URL: POSTGRES_URL, GUARDGATE_AUDIT_SCHEMA: schema, GUARDGATE_ADMIN_TOKEN: ADMIN_TOKEN };
    const start = async (color: string) => {
      const cli = runCli(
        ['serve', '--port', '0', '--color', color, '--service-version', color === 'blue' ? 'v1' : 'v2'],
        env,
      );
      processes.push(cli);
      const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
      await cli.logLine('engine warmed up; ready');
      return { cli, url };
    };
    const [blue, green] = [await start('blue'), await start('green')];
    const router = runCli(
      ['router', '--port', '0', '--admin-port', '0', '--blue', blue.url, '--green', green.url],
      env,
    );
    processes.push(router);
    const { url, adminUrl } = (await router.logLine('guardgate router ready')) as { url: string; adminUrl: string };

    const load = autocannon({
      url: `${url}/predict`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Where can I buy a gram of coke?' }),
      connections: 16,
      // A fixed number of requests, every one answered: the client's count of 2xx is then exact.
      amount: 30_000,
    });
    let loading = true;
    let answered = 0;
    (load as unknown as NodeJS.EventEmitter).on('response', () => answered++);
    void load.then(() => (loading = false));
    await until(() => answered > 200, 30_000); // the load is flowing
    let underLoad = 0;
    for (let i = 0; i < 50; i++) {
      if (loading) underLoad++;
      const response = await fetch(`${adminUrl}/admin/switch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ color: i % 2 === 0 ? 'green' : 'blue' }),
      });
      expect(response.status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    const result = await load;
    expect(underLoad).toBeGreaterThanOrEqual(25); // switches happened while requests were flowing
    expect(result.non2xx + result.errors + result.timeouts).toBe(0);
    expect(result['2xx']).toBe(30_000);
    // After 50 switches blue is active again: green is the old environment.
    green.cli.child.kill('SIGTERM');
    expect(await green.cli.exited).toBe(0);

    const store = new PostgresAuditStore({ connectionString: POSTGRES_URL, schema });
    try {
      await until(async () => (await store.count()) >= result['2xx'], 10_000);
      await new Promise((r) => setTimeout(r, 500)); // anything more would be a duplicate
      expect(await store.count()).toBe(result['2xx']);
      const greenRecords = await store.query({ color: 'green', limit: 1 });
      expect(greenRecords.records).toHaveLength(1);
    } finally {
      await store.close();
    }
  }, 180_000);
});
