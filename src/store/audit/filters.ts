// The WHERE clause of an audit query, for either SQL dialect: `?` placeholders (SQLite) or `$n` (PostgreSQL).
import { decodeCursor, type AuditQuery } from './store.js';

/** A WHERE clause and its parameters. */
export interface Where {
  sql: string;
  params: unknown[];
}

/** The WHERE clause of an audit query, in either dialect. */
export function auditWhere(query: AuditQuery, dialect: 'sqlite' | 'postgres'): Where {
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(dialect === 'sqlite' && typeof value === 'boolean' ? Number(value) : value);
    return dialect === 'sqlite' ? '?' : `$${params.length}`;
  };
  const where: string[] = [];
  if (query.since) where.push(`time >= ${p(query.since.toISOString())}`);
  if (query.until) where.push(`time < ${p(query.until.toISOString())}`);
  if (query.flagged !== undefined) where.push(`flagged = ${p(query.flagged)}`);
  if (query.color) where.push(`color = ${p(query.color)}`);
  if (query.version) where.push(`version = ${p(query.version)}`);
  if (query.traceId) where.push(`trace_id = ${p(query.traceId)}`);
  if (query.cursor) {
    const [time, id] = decodeCursor(query.cursor);
    where.push(`(time < ${p(time)} OR (time = ${p(time)} AND id < ${p(id)}))`);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}
