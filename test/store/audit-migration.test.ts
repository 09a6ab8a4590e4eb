// Audit tables written before record ids (keyed by the client's trace id) are migrated in place: every
// old record stays readable, and verdicts that share a client trace id are all kept from then on.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresAuditStore } from '../../src/store/audit/postgres.js';
import { SqliteAuditStore } from '../../src/store/audit/sqlite.js';
import type { AuditStore } from '../../src/store/audit/store.js';
import { POSTGRES_URL, dropSchema, postgresReachable, requireService, testSchema } from '../helpers/services.js';
import { auditRecord } from './audit-contract.js';

const OLD_COLUMNS = `trace_id TEXT PRIMARY KEY, time TEXT NOT NULL, color TEXT, version TEXT NOT NULL, engine TEXT NOT NULL,
  model TEXT NOT NULL, engine_version TEXT NOT NULL, target TEXT NOT NULL, language TEXT, text_digest TEXT NOT NULL,
  prompt TEXT, response TEXT, safety TEXT NOT NULL, categories TEXT NOT NULL, refusal INTEGER, flagged INTEGER NOT NULL,
  policy TEXT NOT NULL, latency_ms REAL NOT NULL, cached INTEGER NOT NULL, degraded INTEGER NOT NULL`;
const OLD_ROW = `'old-trace', '2026-01-01T00:00:00.000Z', 'blue', 'v1', 'lexicon', 'lexicon', '1', 'prompt', 'en', 'ab', NULL, NULL, 'Unsafe', '["Violent"]', NULL, 1, 'strict', 1.5, 0, 0`;

async function expectMigrated(store: AuditStore): Promise<void> {
  const old = await store.query({ traceId: 'old-trace', limit: 10 });
  expect(old.records).toHaveLength(1);
  expect(old.records[0]).toMatchObject({
    id: 'old-trace',
    trace_id: 'old-trace',
    safety: 'Unsafe',
    categories: ['Violent'],
    flagged: true,
  });
  await store.write([auditRecord('old-trace', { id: 'new-1' }), auditRecord('old-trace', { id: 'new-2' })]);
  expect((await store.query({ traceId: 'old-trace', limit: 10 })).records.map((r) => r.id).sort()).toEqual([
    'new-1',
    'new-2',
    'old-trace',
  ]);
}

describe('audit tables keyed by trace id are migrated', () => {
  it('SQLite', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'guardgate-migrate-')), 'audit.sqlite');
    const db = new Database(path);
    db.exec(
      `CREATE TABLE guardgate_audit (${OLD_COLUMNS}); CREATE INDEX guardgate_audit_time ON guardgate_audit (time DESC, trace_id DESC);`,
    );
    db.exec(`INSERT INTO guardgate_audit VALUES (${OLD_ROW})`);
    db.close();
    const store = new SqliteAuditStore(path);
    await expectMigrated(store);
    await store.close();
    // Opening again changes nothing.
    const again = new SqliteAuditStore(path);
    expect(await again.count()).toBe(3);
    await again.close();
  });

  it('PostgreSQL', async (context) => {
    if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note)))
      return;
    const schema = testSchema();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const pgColumns = OLD_COLUMNS.replace('time TEXT', 'time TIMESTAMPTZ')
      .replace('categories TEXT', 'categories JSONB')
      .replace('refusal INTEGER', 'refusal BOOLEAN')
      .replace(/(flagged|cached|degraded) INTEGER/g, '$1 BOOLEAN')
      .replace('REAL', 'DOUBLE PRECISION');
    await client.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.guardgate_audit (${pgColumns});
      CREATE INDEX guardgate_audit_time ON ${schema}.guardgate_audit (time DESC, trace_id DESC);
      INSERT INTO ${schema}.guardgate_audit VALUES (${OLD_ROW.replace(', NULL, 1,', ', NULL, true,').replace(', 0, 0', ', false, false')})`);
    await client.end();
    const store = new PostgresAuditStore({ connectionString: POSTGRES_URL, schema });
    try {
      await expectMigrated(store);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });
});
