// Audit records in SQLite (WAL, so that several instance processes on one machine can share the file).
import Database from 'better-sqlite3';
import { AUDIT_COLUMNS as COLUMNS } from './columns.js';
import type { AuditRecord } from './record.js';
import { auditWhere } from './filters.js';
import { encodeCursor, type AuditPage, type AuditQuery, type AuditStore } from './store.js';

const CREATE_TABLE = `CREATE TABLE guardgate_audit (
  id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, time TEXT NOT NULL, color TEXT, version TEXT NOT NULL, engine TEXT NOT NULL,
  model TEXT NOT NULL, engine_version TEXT NOT NULL, target TEXT NOT NULL, language TEXT, text_digest TEXT NOT NULL,
  prompt TEXT, response TEXT, safety TEXT NOT NULL, categories TEXT NOT NULL, refusal INTEGER, flagged INTEGER NOT NULL,
  policy TEXT NOT NULL, latency_ms REAL NOT NULL, cached INTEGER NOT NULL, degraded INTEGER NOT NULL)`;

type Row = Record<(typeof COLUMNS)[number], string | number | null>;

const toRow = (r: AuditRecord): Row => ({
  ...r,
  categories: JSON.stringify(r.categories),
  refusal: r.refusal === null ? null : Number(r.refusal),
  flagged: Number(r.flagged),
  cached: Number(r.cached),
  degraded: Number(r.degraded),
});

const fromRow = (row: Row): AuditRecord => ({
  ...(row as unknown as AuditRecord),
  categories: JSON.parse(row.categories as string) as string[],
  refusal: row.refusal === null ? null : row.refusal === 1,
  flagged: row.flagged === 1,
  cached: row.cached === 1,
  degraded: row.degraded === 1,
});

/**
 * Before record ids, rows were keyed by the client's trace id (which let one client id hide later verdicts).
 * Such a table is rebuilt with its trace ids as record ids, in one transaction.
 */
function migrateKeyedByTraceId(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(guardgate_audit)').all() as Array<{ name: string }>;
  if (columns.length === 0 || columns.some((c) => c.name === 'id')) return;
  db.transaction(() => {
    db.exec('ALTER TABLE guardgate_audit RENAME TO guardgate_audit_v1; DROP INDEX IF EXISTS guardgate_audit_time;');
    db.exec(CREATE_TABLE);
    db.exec(
      `INSERT INTO guardgate_audit (${COLUMNS.join(', ')}) SELECT trace_id, ${COLUMNS.slice(1).join(', ')} FROM guardgate_audit_v1`,
    );
    db.exec('DROP TABLE guardgate_audit_v1');
  })();
}

/** The audit log in a SQLite file of the data directory. */
export class SqliteAuditStore implements AuditStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertMany: (records: readonly AuditRecord[]) => void;

  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5_000 });
    // A rollback journal, not WAL: WAL maps its index file (-shm) into memory, and a storage failure under
    // that mapping (a full disk, an immutable or vanished file) kills the whole process with SIGBUS. With a
    // journal, the same failure is an error that the audit log answers by spooling. No memory mapping.
    this.db.pragma('mmap_size = 0');
    this.db.pragma('journal_mode = TRUNCATE');
    this.db.pragma('synchronous = NORMAL');
    migrateKeyedByTraceId(this.db);
    this.db.exec(`${CREATE_TABLE.replace('CREATE TABLE', 'CREATE TABLE IF NOT EXISTS')};
    CREATE INDEX IF NOT EXISTS guardgate_audit_time ON guardgate_audit (time DESC, id DESC);
    CREATE INDEX IF NOT EXISTS guardgate_audit_trace ON guardgate_audit (trace_id);`);
    this.insert = this.db.prepare(
      `INSERT INTO guardgate_audit (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')}) ON CONFLICT (id) DO NOTHING`,
    );
    this.insertMany = this.db.transaction((records: readonly AuditRecord[]) => {
      for (const record of records) this.insert.run(toRow(record));
    });
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    this.insertMany(records);
  }

  async query(query: AuditQuery): Promise<AuditPage> {
    const where = auditWhere(query, 'sqlite');
    const sql = `SELECT * FROM guardgate_audit ${where.sql} ORDER BY time DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...where.params, query.limit + 1) as Row[];
    const records = rows.slice(0, query.limit).map(fromRow);
    return { records, next: rows.length > query.limit ? encodeCursor(records[records.length - 1]!) : null };
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM guardgate_audit').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
