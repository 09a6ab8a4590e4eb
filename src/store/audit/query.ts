// Reading an audit query from text parameters (the admin API's query string, the CLI's flags).
import { GuardgateError } from '../../vocabulary/errors.js';
import { parseDurationMs } from '../../shared/duration.js';
import type { AuditRecord } from './record.js';
import type { AuditQuery } from './store.js';

/** An audit query as the CLI or the API receives it (text). */
export interface AuditQueryParams {
  since?: string;
  until?: string;
  flagged?: string | boolean;
  color?: string;
  version?: string;
  traceId?: string;
  limit?: string | number;
  cursor?: string;
}

/** `30m`, `2h`, `7d` (that long before `now`), or an ISO date. */
export function parseTime(value: string, field: string, now: Date = new Date()): Date {
  const duration = parseDurationMs(value);
  if (duration !== null) return new Date(now.getTime() - duration);
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new GuardgateError(
      'invalid_request',
      `${field} must be a duration like 30m, 2h, 7d or an ISO date, not ${JSON.stringify(value).slice(0, 60)}`,
    );
  return date;
}

/** An audit query from its text parameters; a bad one is a GuardgateError. */
export function parseAuditQuery(params: AuditQueryParams, now: Date = new Date()): AuditQuery {
  const limit = params.limit === undefined ? 100 : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000)
    throw new GuardgateError('invalid_request', 'limit must be a whole number from 1 to 1000');
  let flagged: boolean | undefined;
  if (params.flagged !== undefined) {
    if (![true, false, 'true', 'false'].includes(params.flagged))
      throw new GuardgateError('invalid_request', 'flagged must be true or false');
    flagged = params.flagged === true || params.flagged === 'true';
  }
  return {
    limit,
    ...(params.since ? { since: parseTime(params.since, 'since', now) } : {}),
    ...(params.until ? { until: parseTime(params.until, 'until', now) } : {}),
    ...(flagged === undefined ? {} : { flagged }),
    ...(params.color ? { color: params.color } : {}),
    ...(params.version ? { version: params.version } : {}),
    ...(params.traceId ? { traceId: params.traceId } : {}),
    ...(params.cursor ? { cursor: params.cursor } : {}),
  };
}

const CSV_COLUMNS: ReadonlyArray<keyof AuditRecord> = [
  'time',
  'trace_id',
  'color',
  'version',
  'engine',
  'model',
  'target',
  'language',
  'safety',
  'categories',
  'refusal',
  'flagged',
  'policy',
  'latency_ms',
  'cached',
  'degraded',
  'text_digest',
  'prompt',
  'response',
];

const csvField = (value: unknown): string => {
  const text = value === null || value === undefined ? '' : Array.isArray(value) ? value.join('; ') : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** The CSV export's header line. */
export const auditCsvHeader = (): string => CSV_COLUMNS.join(',');
/** One audit record as a CSV line. */
export const auditCsvRow = (record: AuditRecord): string => CSV_COLUMNS.map((c) => csvField(record[c])).join(',');
