// The audit log loses nothing: a store outage spools records locally, recovery replays them (nothing
// doubled), a full buffer spills to the spool, and close() flushes. Real SQLite and PostgreSQL.
import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/store/audit/log.js';
import type { AuditRecord } from '../../src/store/audit/record.js';
import { PostgresAuditStore } from '../../src/store/audit/postgres.js';
import { AuditSpool } from '../../src/store/audit/spool.js';
import { SqliteAuditStore } from '../../src/store/audit/sqlite.js';
import { until } from '../helpers/router.js';
import {
  POSTGRES_URL,
  dropSchema,
  postgresReachable,
  requireService,
  startCuttableProxy,
  testSchema,
} from '../helpers/services.js';
import { auditRecord } from './audit-contract.js';

const options = { batchSize: 10, flushIntervalMs: 20, bufferSize: 1_000, maxHeld: 10_000, replayIntervalMs: 50 };
const tempDir = () => mkdtempSync(join(tmpdir(), 'guardgate-audit-log-'));

describe('audit log', () => {
  it('SQLite locked by another writer: records are spooled, then replayed once it is free; none lost, none doubled', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.sqlite');
    const store = new SqliteAuditStore(path, { busyTimeoutMs: 50 });
    const spooled: number[] = [];
    const log = new AuditLog(store, new AuditSpool(join(dir, 'spool')), options, { spooled: (n) => spooled.push(n) });
    const blocker = new Database(path);
    blocker.exec('BEGIN EXCLUSIVE');
    for (let i = 0; i < 95; i++) log.record(auditRecord(`sqlite-outage-${i}`));
    await log.flush();
    expect(spooled.reduce((a, b) => a + b, 0)).toBe(95);
    expect(log.backlog()).toEqual({ buffered: 0, spooled: 95 });
    blocker.exec('COMMIT');
    blocker.close();
    await until(() => log.backlog().spooled === 0);
    expect(await store.count()).toBe(95);
    // A second replay of what is already stored changes nothing.
    await log.replay();
    expect(await store.count()).toBe(95);
    await log.close();
  });

  it('a full buffer spills to the spool at once and is replayed', async () => {
    const dir = tempDir();
    const store = new SqliteAuditStore(join(dir, 'audit.sqlite'));
    const log = new AuditLog(store, new AuditSpool(join(dir, 'spool')), {
      ...options,
      batchSize: 1_000,
      flushIntervalMs: 60_000,
      bufferSize: 25,
    });
    for (let i = 0; i < 60; i++) log.record(auditRecord(`spill-${i}`));
    expect(log.backlog()).toEqual({ buffered: 10, spooled: 50 });
    await log.close(); // replays the spool, flushes the buffer
    const reopened = new SqliteAuditStore(join(dir, 'audit.sqlite'));
    expect(await reopened.count()).toBe(60);
    await reopened.close();
  });

  it('spooled records survive a restart: a new log replays what the old one left', async () => {
    const dir = tempDir();
    const spool = new AuditSpool(join(dir, 'spool'));
    spool.append([auditRecord('left-1'), auditRecord('left-2')]);
    const store = new SqliteAuditStore(join(dir, 'audit.sqlite'));
    const log = new AuditLog(store, new AuditSpool(join(dir, 'spool')), options);
    expect(log.backlog().spooled).toBe(2);
    await until(() => log.backlog().spooled === 0);
    expect(await store.count()).toBe(2);
    await log.close();
  });

  it('store and spool both failing: records are held in memory, the log says when it is saturated, and all are written once the store is back', async () => {
    const dir = tempDir();
    let storeUp = false;
    let diskFull = true;
    const inner = new SqliteAuditStore(join(dir, 'audit.sqlite'));
    const store = {
      write: (records: readonly AuditRecord[]) =>
        storeUp ? inner.write(records) : Promise.reject(new Error('store down')),
      query: inner.query.bind(inner),
      count: inner.count.bind(inner),
      close: inner.close.bind(inner),
    };
    class FlakySpool extends AuditSpool {
      override append(records: readonly AuditRecord[]): void {
        if (diskFull) throw new Error('ENOSPC: no space left on device');
        super.append(records);
      }
    }
    const failures: number[] = [];
    const log = new AuditLog(
      store,
      new FlakySpool(join(dir, 'spool')),
      { ...options, bufferSize: 20, maxHeld: 50 },
      { failed: (_e, n) => failures.push(n) },
    );
    for (let i = 0; i < 49; i++) log.record(auditRecord(`held-${i}`));
    await log.flush();
    expect(log.saturated).toBe(false);
    log.record(auditRecord('held-49'));
    expect(log.saturated).toBe(true);
    expect(log.backlog()).toEqual({ buffered: 50, spooled: 0 });
    expect(failures.length).toBeGreaterThan(0);
    diskFull = false; // the spool takes them first (tried again a second after it last failed) ...
    await until(async () => (await log.flush(), log.backlog().spooled === 50), 10_000);
    expect(log.backlog()).toEqual({ buffered: 0, spooled: 50 });
    storeUp = true; // ... and the store once it is back
    await log.replay();
    expect(await inner.count()).toBe(50);
    await log.close();
  });

  it('stays saturated while a flush is writing records the store then refuses (no window where it reads as ready)', async () => {
    const dir = tempDir();
    let refuse: ((error: Error) => void) | undefined;
    const store = {
      write: () => new Promise<void>((_resolve, reject) => (refuse = reject)),
      query: () => Promise.reject(new Error('unused')),
      count: () => Promise.resolve(0),
      close: () => Promise.resolve(),
    };
    class FullSpool extends AuditSpool {
      override append(): void {
        throw new Error('ENOSPC: no space left on device');
      }
    }
    const log = new AuditLog(store, new FullSpool(join(dir, 'spool')), {
      ...options,
      flushIntervalMs: 60_000,
      bufferSize: 20,
      maxHeld: 30,
    });
    // The tenth record starts a flush, which takes a batch out of the buffer and waits on the store.
    for (let i = 0; i < 30; i++) log.record(auditRecord(`held-${i}`));
    await until(() => refuse !== undefined);
    expect(log.backlog().buffered).toBe(20);
    expect(log.saturated).toBe(true);
    refuse?.(new Error('store down'));
    await until(() => log.backlog().buffered === 30);
    expect(log.saturated).toBe(true);
  });

  it('records spooled before records had ids are replayed, keyed by their trace ids', async () => {
    const dir = tempDir();
    const spool = new AuditSpool(join(dir, 'spool'));
    const { id: _id, ...legacy } = auditRecord('spooled-before-ids');
    writeFileSync(join(spool.dir, '0-legacy.jsonl'), `${JSON.stringify(legacy)}\n`);
    const store = new SqliteAuditStore(join(dir, 'audit.sqlite'));
    const log = new AuditLog(store, spool, options);
    await log.replay();
    expect(spool.files()).toEqual([]);
    expect((await store.query({ traceId: 'spooled-before-ids', limit: 5 })).records.map((r) => r.id)).toEqual([
      'spooled-before-ids',
    ]);
    await log.close();
  });

  it('PostgreSQL unreachable, then back: the spool is replayed, nothing lost, nothing doubled', async (context) => {
    if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note)))
      return;
    const schema = testSchema();
    const proxy = await startCuttableProxy({ host: '127.0.0.1', port: Number(new URL(POSTGRES_URL).port || 5432) });
    const store = new PostgresAuditStore({
      connectionString: proxy.url(POSTGRES_URL),
      schema,
      connectionTimeoutMs: 300,
    });
    const dir = tempDir();
    const log = new AuditLog(store, new AuditSpool(join(dir, 'spool')), options);
    try {
      for (let i = 0; i < 40; i++) log.record(auditRecord(`pg-before-${i}`));
      await log.flush();
      expect(await store.count()).toBe(40);
      proxy.cut();
      for (let i = 0; i < 75; i++) log.record(auditRecord(`pg-during-${i}`));
      await log.flush();
      expect(log.backlog().spooled).toBe(75);
      proxy.restore();
      for (let i = 0; i < 5; i++) log.record(auditRecord(`pg-after-${i}`));
      await until(() => log.backlog().spooled === 0 && log.backlog().buffered === 0, 10_000);
      await log.flush();
      expect(await store.count()).toBe(120);
    } finally {
      await log.close();
      await proxy.close();
      await dropSchema(schema);
    }
  });
});
