// The SQLite audit store's own thread: SQLite writes (and the WAL checkpoints they trigger, with their
// fsyncs) happen here, never on the thread that answers requests.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteAuditStore } from './sqlite.js';
import type { AuditRecord } from './record.js';
import type { AuditQuery } from './store.js';

/** What the SQLite writer thread is asked. */
export type WorkerRequest =
  | { id: number; op: 'write'; records: AuditRecord[] }
  | { id: number; op: 'query'; query: AuditQuery }
  | { id: number; op: 'count' }
  | { id: number; op: 'close' };

/** What it answers. */
export type WorkerReply =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; code?: string };

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
const store = new SqliteAuditStore(path, { busyTimeoutMs });

parentPort!.on('message', async (request: WorkerRequest) => {
  try {
    let value: unknown;
    switch (request.op) {
      case 'write':
        value = await store.write(request.records);
        break;
      case 'query':
        value = await store.query(request.query);
        break;
      case 'count':
        value = await store.count();
        break;
      case 'close':
        value = await store.close();
        break;
    }
    parentPort!.postMessage({ id: request.id, ok: true, value } satisfies WorkerReply);
  } catch (error) {
    const { message, code } = error as { message: string; code?: string };
    parentPort!.postMessage({ id: request.id, ok: false, message, ...(code ? { code } : {}) } satisfies WorkerReply);
    // After a storage failure the connection may stay broken: end this thread, and the store starts a
    // fresh one (with a fresh connection) for a later call.
    if (code !== undefined && /^SQLITE_(IOERR|CANTOPEN|READONLY|CORRUPT|NOTADB|FULL)/.test(code)) process.exit(1);
  }
});
