// Open the configured audit log and verdict cache (the I/O shell around the store modules).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceConfig } from '../config/instance.js';
import { AuditLog, type AuditLogEvents } from './audit/log.js';
import { AuditJournal } from './audit/journal.js';
import { AuditSpool } from './audit/spool.js';
import { ThreadedSqliteAuditStore } from './audit/sqlite-threaded.js';
import type { AuditStore } from './audit/store.js';
import type { VerdictCache } from './cache/cache.js';
import { MemoryVerdictCache } from './cache/memory.js';
import { RedisVerdictCache } from './cache/redis.js';

/** The audit store the configuration names (SQLite, PostgreSQL, or none); the PostgreSQL client loads only for it. */
export async function openAuditStore(audit: InstanceConfig['audit'], dataDir: string): Promise<AuditStore | undefined> {
  switch (audit.sink) {
    case 'none':
      return undefined;
    case 'postgres': {
      const { PostgresAuditStore } = await import('./audit/postgres.js');
      return new PostgresAuditStore({ connectionString: audit.databaseUrl!, schema: audit.schema });
    }
    case 'sqlite':
      mkdirSync(dataDir, { recursive: true });
      return new ThreadedSqliteAuditStore(join(dataDir, 'audit.sqlite'));
  }
}

/** The audit store a reader uses: PostgreSQL when a URL is given, else the SQLite file of the data directory. */
export async function openAuditReader(options: {
  databaseUrl?: string | undefined;
  schema?: string | undefined;
  dataDir: string;
}): Promise<AuditStore> {
  return (await openAuditStore(
    {
      sink: options.databaseUrl ? 'postgres' : 'sqlite',
      databaseUrl: options.databaseUrl,
      schema: options.schema ?? 'public',
    } as InstanceConfig['audit'],
    options.dataDir,
  ))!;
}

/** The audit log over that store, with its spool and journal. */
export async function openAuditLog(config: InstanceConfig, events: AuditLogEvents): Promise<AuditLog | undefined> {
  const store = await openAuditStore(config.audit, config.dataDir);
  if (store === undefined) return undefined;
  const spool = new AuditSpool(join(config.dataDir, 'audit-spool'));
  const journal = config.audit.journal
    ? new AuditJournal(spool.dir, { fsync: config.audit.fsync, segmentRecords: config.audit.segmentRecords })
    : undefined;
  return new AuditLog(store, spool, config.audit, events, journal);
}

/** The verdict cache the configuration names (memory, Redis, or none). */
export function openCache(cache: InstanceConfig['cache']): VerdictCache | undefined {
  switch (cache.kind) {
    case 'none':
      return undefined;
    case 'memory':
      return new MemoryVerdictCache(cache.maxEntries, cache.ttlSeconds * 1000);
    case 'redis':
      return new RedisVerdictCache(cache.redisUrl!, cache.ttlSeconds, cache.timeoutMs);
  }
}
