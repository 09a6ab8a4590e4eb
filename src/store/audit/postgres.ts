// Audit records in PostgreSQL, shared by both colors (and by every instance of each).
import pg from 'pg';
import { onceUntilFailure } from '../../shared/once.js';
import { auditWhere } from './filters.js';
import { AUDIT_COLUMNS as COLUMNS } from './columns.js';
import type { AuditRecord } from './record.js';
import { encodeCursor, type AuditPage, type AuditQuery, type AuditStore } from './store.js';

/** Where in PostgreSQL the audit log goes. */
export interface PostgresAuditOptions {
  connectionString: string;
  /** A schema of its own (created if missing); default `public`. */
  schema?: string;
  connectionTimeoutMs?: number;
}

interface Row extends Omit<AuditRecord, 'time' | 'latency_ms'> {
  time: Date;
  latency_ms: number | string;
}

const fromRow = (row: Row): AuditRecord => ({
  ...row,
  time: row.time.toISOString(),
  latency_ms: Number(row.latency_ms),
});

/** The audit log in PostgreSQL, shared by every instance. */
export class PostgresAuditStore implements AuditStore {
  private readonly pool: pg.Pool;
  private readonly table: string;

  constructor(private readonly options: PostgresAuditOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: 4,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 2_000,
    });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.table = `${pg.escapeIdentifier(options.schema ?? 'public')}.guardgate_audit`;
  }

  /** Create the schema and tables once; tried again after a failure. */
  private readonly migrate = onceUntilFailure(async () => {
    await this.pool.query(
      `CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(this.options.schema ?? 'public')};
         CREATE TABLE IF NOT EXISTS ${this.table} (
           id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, time TIMESTAMPTZ NOT NULL, color TEXT, version TEXT NOT NULL, engine TEXT NOT NULL,
           model TEXT NOT NULL, engine_version TEXT NOT NULL, target TEXT NOT NULL, language TEXT, text_digest TEXT NOT NULL,
           prompt TEXT, response TEXT, safety TEXT NOT NULL, categories JSONB NOT NULL, refusal BOOLEAN, flagged BOOLEAN NOT NULL,
           policy TEXT NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, cached BOOLEAN NOT NULL, degraded BOOLEAN NOT NULL);
         -- Before record ids, rows were keyed by the client's trace id: those ids become record ids.
         DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = ${pg.escapeLiteral(this.options.schema ?? 'public')}
                          AND table_name = 'guardgate_audit' AND column_name = 'id') THEN
             ALTER TABLE ${this.table} ADD COLUMN id TEXT;
             UPDATE ${this.table} SET id = trace_id;
             ALTER TABLE ${this.table} DROP CONSTRAINT guardgate_audit_pkey;
             ALTER TABLE ${this.table} ADD PRIMARY KEY (id);
             DROP INDEX IF EXISTS ${pg.escapeIdentifier(this.options.schema ?? 'public')}.guardgate_audit_time;
           END IF;
         END $$;
         CREATE INDEX IF NOT EXISTS guardgate_audit_time ON ${this.table} (time DESC, id DESC);
         CREATE INDEX IF NOT EXISTS guardgate_audit_trace ON ${this.table} (trace_id);`,
    );
  });

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.migrate();
    // One multi-row insert: the batch is written whole or not at all.
    const params: unknown[] = [];
    const rows = records.map((record) => {
      const placeholders = COLUMNS.map((column) => {
        params.push(column === 'categories' ? JSON.stringify(record.categories) : record[column]);
        return `$${params.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await this.pool.query(
      `INSERT INTO ${this.table} (${COLUMNS.join(', ')}) VALUES ${rows.join(', ')} ON CONFLICT (id) DO NOTHING`,
      params,
    );
  }

  async query(query: AuditQuery): Promise<AuditPage> {
    await this.migrate();
    const where = auditWhere(query, 'postgres');
    const result = await this.pool.query<Row>(
      `SELECT * FROM ${this.table} ${where.sql} ORDER BY time DESC, id DESC LIMIT $${where.params.length + 1}`,
      [...where.params, query.limit + 1],
    );
    const records = result.rows.slice(0, query.limit).map(fromRow);
    return { records, next: result.rows.length > query.limit ? encodeCursor(records[records.length - 1]!) : null };
  }

  async count(): Promise<number> {
    await this.migrate();
    return Number((await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table}`)).rows[0]!.n);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
