// `guardgate up` with DATABASE_URL keeps the controller's state in PostgreSQL: a second controller on
// another data directory restores the active color from it.
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { POSTGRES_URL, dropSchema, postgresReachable, requireService, testSchema } from '../helpers/services.js';
import { predict, quickSpec, startTestUp } from '../helpers/up.js';

describe('up with PostgreSQL', () => {
  const schema = testSchema();
  const ups: RunningUp[] = [];
  afterAll(async () => {
    for (const up of ups) await up.close().catch(() => undefined);
    if (await postgresReachable()) await dropSchema(schema);
  });

  it('records releases and the active color in PostgreSQL, and a restart elsewhere restores them', async (context) => {
    if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note)))
      return;
    const env = { DATABASE_URL: POSTGRES_URL, GUARDGATE_CONTROLLER_SCHEMA: schema, GUARDGATE_AUDIT_SCHEMA: schema };
    const first = await startTestUp(undefined, env);
    ups.push(first);
    await first.controller.release(
      quickSpec({
        version: 'pg-v2',
        gates: { load: { enabled: false }, shadow: { enabled: false }, watch: { enabled: false } },
      }),
    );
    await first.controller.settled();
    expect((await first.controller.status()).release).toMatchObject({ version: 'pg-v2', state: 'stable' });
    await first.close();
    ups.pop();

    const second = await startTestUp(undefined, env); // a fresh data directory: the state comes from PostgreSQL
    ups.push(second);
    const status = await second.controller.status();
    expect(status.active).toBe('green');
    expect(status.environments.green).toMatchObject({ version: 'pg-v2' });
    expect(await predict(second.url)).toMatchObject({ status: 200, color: 'green', version: 'pg-v2' });
    expect((await second.controller.history(5)).map((r) => r.version)).toEqual(['pg-v2']);
  });
});
