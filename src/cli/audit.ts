// `guardgate audit`: read the audit log (SQLite in the data directory, or PostgreSQL with DATABASE_URL).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { CliExit } from './client.js';
import { EXIT } from './exit-codes.js';
import { auditCsvHeader, auditCsvRow, parseAuditQuery } from '../store/audit/query.js';

interface AuditFlags {
  dataDir: string;
  databaseUrl?: string;
  schema?: string;
  since?: string;
  until?: string;
  flagged?: boolean;
  color?: string;
  serviceVersion?: string;
  traceId?: string;
  limit?: string;
  json?: boolean;
  csv?: boolean;
}

/** `guardgate audit`: query the audit log. */
export function auditCommand(): Command {
  return new Command('audit')
    .description('print audit records, newest first: one per verdict served')
    .option(
      '--data-dir <dir>',
      'the data directory whose audit.sqlite to read (also GUARDGATE_DATA_DIR)',
      process.env.GUARDGATE_DATA_DIR ?? '.guardgate',
    )
    .option('--database-url <url>', 'read PostgreSQL instead (also DATABASE_URL)')
    .option('--schema <name>', 'PostgreSQL schema (also GUARDGATE_AUDIT_SCHEMA)')
    .option('--since <when>', 'from this long ago (30m, 2h, 7d) or this ISO time')
    .option('--until <when>', 'up to this long ago or this ISO time')
    .option('--flagged', 'only flagged verdicts')
    .option('--color <color>', 'only verdicts of this color')
    .option('--service-version <label>', 'only verdicts of this deployed version')
    .option('--trace-id <id>', 'only this trace id')
    .option('--limit <n>', 'at most this many records (1 to 1000)', '100')
    .option('--json', 'one JSON object per line')
    .option('--csv', 'CSV with a header line')
    .action(async (flags: AuditFlags) => {
      const query = parseAuditQuery({
        since: flags.since,
        until: flags.until,
        flagged: flags.flagged ? true : undefined,
        color: flags.color,
        version: flags.serviceVersion,
        traceId: flags.traceId,
        limit: flags.limit,
      });
      const databaseUrl = flags.databaseUrl ?? process.env.DATABASE_URL;
      // No audit log where we look is a mistake to report, not "0 records".
      if (databaseUrl === undefined && !existsSync(join(flags.dataDir, 'audit.sqlite'))) {
        throw new CliExit(
          EXIT.usage,
          `no audit log in ${resolve(flags.dataDir)}: pass the --data-dir of guardgate up (or GUARDGATE_DATA_DIR), or --database-url`,
        );
      }
      const { openAuditReader } = await import('../store/open.js');
      const store = await openAuditReader({
        databaseUrl,
        schema: flags.schema ?? process.env.GUARDGATE_AUDIT_SCHEMA,
        dataDir: flags.dataDir,
      });
      try {
        const { records } = await store.query(query);
        const out: string[] = [];
        if (flags.csv) out.push(auditCsvHeader(), ...records.map(auditCsvRow));
        else if (flags.json) out.push(...records.map((r) => JSON.stringify(r)));
        else {
          for (const r of records) {
            out.push(
              `${r.time}  ${r.trace_id}  ${(r.color ?? '-').padEnd(5)} ${r.version}  ${r.target.padEnd(8)} ${r.safety.padEnd(13)} ${r.flagged ? 'flagged' : '       '}  ${r.categories.join(', ') || 'None'}`,
            );
          }
          out.push(`${records.length} record(s)`);
        }
        process.stdout.write(out.join('\n') + '\n');
      } finally {
        await store.close();
      }
    });
}
