// The audit table's columns: what the SQLite store's worker thread needs of a record, without what builds one
// (the PII masking, and the phone-number library under it, stay out of the thread).
import type { AuditRecord } from './record.js';

/** The audit table's columns, in order (the SQLite and PostgreSQL stores write them alike). */
export const AUDIT_COLUMNS = [
  'id',
  'trace_id',
  'time',
  'color',
  'version',
  'engine',
  'model',
  'engine_version',
  'target',
  'language',
  'text_digest',
  'prompt',
  'response',
  'safety',
  'categories',
  'refusal',
  'flagged',
  'policy',
  'latency_ms',
  'cached',
  'degraded',
] as const satisfies ReadonlyArray<keyof AuditRecord>;
