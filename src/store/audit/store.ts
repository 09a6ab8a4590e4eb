// Where audit records live: one interface, SQLite (the data directory) or PostgreSQL (shared by both colors).
import { GuardgateError } from '../../vocabulary/errors.js';
import type { AuditRecord } from './record.js';

/** A parsed audit query: filters, order and page. */
export interface AuditQuery {
  since?: Date;
  until?: Date;
  flagged?: boolean;
  color?: string;
  version?: string;
  traceId?: string;
  /** At most this many records, newest first. */
  limit: number;
  /** The `next` cursor of the previous page. */
  cursor?: string;
}

/** A page of audit records, and the cursor of the next. */
export interface AuditPage {
  records: AuditRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next: string | null;
}

/** Where audit records are written and read (SQLite or PostgreSQL: one contract test). */
export interface AuditStore {
  /** Write records; a record id already stored is skipped, so a replay never doubles a record. */
  write(records: readonly AuditRecord[]): Promise<void>;
  query(query: AuditQuery): Promise<AuditPage>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Pages go newest first by (time, record id); the cursor is the last record's pair. */
export const encodeCursor = (record: AuditRecord): string =>
  Buffer.from(JSON.stringify([record.time, record.id])).toString('base64url');

/** A page cursor's time and id. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string'))
      return value as [string, string];
  } catch {
    // fall through
  }
  throw new GuardgateError('invalid_request', 'invalid cursor: pass the next value of the previous page');
}
