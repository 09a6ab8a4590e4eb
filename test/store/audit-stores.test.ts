// Both audit stores pass the contract: SQLite in a temporary directory, PostgreSQL on loopback.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresAuditStore } from '../../src/store/audit/postgres.js';
import { SqliteAuditStore } from '../../src/store/audit/sqlite.js';
import { ThreadedSqliteAuditStore } from '../../src/store/audit/sqlite-threaded.js';
import { POSTGRES_URL, dropSchema, postgresReachable, requireService, testSchema } from '../helpers/services.js';
import { runAuditStoreContract } from './audit-contract.js';

runAuditStoreContract('sqlite', async () => {
  const store = new SqliteAuditStore(join(mkdtempSync(join(tmpdir(), 'guardgate-audit-')), 'audit.sqlite'));
  return { store, close: () => store.close() };
});

runAuditStoreContract('sqlite in a worker thread', async () => {
  const store = new ThreadedSqliteAuditStore(join(mkdtempSync(join(tmpdir(), 'guardgate-audit-')), 'audit.sqlite'));
  return { store, close: () => store.close() };
});

runAuditStoreContract('postgres', async (skip) => {
  if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, skip)) return undefined;
  const schema = testSchema();
  const store = new PostgresAuditStore({ connectionString: POSTGRES_URL, schema });
  return { store, close: async () => (await store.close(), await dropSchema(schema)) };
});
