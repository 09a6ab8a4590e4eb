// Controller databases written before secrets were references may hold an engine key in a stored spec.
// On open it is replaced by the reference an instance reads (GUARDGATE_ENGINE_API_KEY): the key is gone from
// the database, from what the API returns, and from the instance configuration a restart would write.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresControllerStore } from '../../src/release/store-postgres.js';
import { SqliteControllerStore, type ControllerStore } from '../../src/release/store.js';
import { POSTGRES_URL, dropSchema, postgresReachable, requireService, testSchema } from '../helpers/services.js';

const KEY = 'sk-legacy-plaintext-0042';
const legacySpec = JSON.stringify({
  version: 'old',
  engine: { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'm', apiKey: KEY },
  policy: 'strict',
  replicas: 1,
});

async function expectScrubbed(store: ControllerStore): Promise<void> {
  const [release] = await store.releases(1);
  expect(release!.spec.engine).toMatchObject({ apiKey: { env: 'GUARDGATE_ENGINE_API_KEY' } });
  expect((await store.environment('green'))!.spec.engine).toMatchObject({
    apiKey: { env: 'GUARDGATE_ENGINE_API_KEY' },
  });
  expect(JSON.stringify(await store.releases(10))).not.toContain(KEY);
}

describe('stored specs with a key in place are scrubbed on open', () => {
  it('SQLite', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'guardgate-legacy-')), 'controller.sqlite');
    new SqliteControllerStore(path).close();
    const db = new Database(path);
    db.prepare(
      "INSERT INTO releases (version, spec, state, candidate, previous, created_at, updated_at) VALUES ('old', ?, 'stable', 'green', 'blue', 'x', 'x')",
    ).run(legacySpec);
    db.prepare("INSERT INTO environments (color, spec) VALUES ('green', ?)").run(legacySpec);
    db.close();
    const store = new SqliteControllerStore(path);
    await expectScrubbed(store);
    await store.close();
    for (const file of [path, `${path}-wal`]) {
      try {
        expect(readFileSync(file).includes(KEY)).toBe(false);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  });

  it('PostgreSQL', async (context) => {
    if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note)))
      return;
    const schema = testSchema();
    const first = new PostgresControllerStore(POSTGRES_URL, schema);
    await first.releases(1); // creates the tables
    await first.close();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(
      `INSERT INTO ${schema}.guardgate_releases (version, spec, state, candidate, previous, created_at, updated_at) VALUES ('old', $1, 'stable', 'green', 'blue', 'x', 'x')`,
      [legacySpec],
    );
    await client.query(`INSERT INTO ${schema}.guardgate_environments (color, spec) VALUES ('green', $1)`, [legacySpec]);
    const store = new PostgresControllerStore(POSTGRES_URL, schema);
    try {
      await expectScrubbed(store);
      const raw = await client.query(
        `SELECT spec FROM ${schema}.guardgate_releases UNION ALL SELECT spec FROM ${schema}.guardgate_environments`,
      );
      expect(JSON.stringify(raw.rows)).not.toContain(KEY);
    } finally {
      await client.end();
      await store.close();
      await dropSchema(schema);
    }
  });
});
