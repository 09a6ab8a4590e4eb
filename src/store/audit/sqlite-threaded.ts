// The default audit store: SQLite in a worker thread (sqlite-worker.ts), so that a slow write or a WAL
// checkpoint never stalls request handling. Same interface, same file, same behaviour as SqliteAuditStore.
import { Worker } from 'node:worker_threads';
import { GuardgateError } from '../../moderation/errors.js';
import { builtFile } from '../../shared/built.js';
import type { AuditRecord } from './record.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.js';
import type { AuditPage, AuditQuery, AuditStore } from './store.js';

const WORKER = builtFile('store/audit/sqlite-worker.js');

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class ThreadedSqliteAuditStore implements AuditStore {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(path: string, options: { busyTimeoutMs?: number } = {}) {
    this.worker = new Worker(WORKER, { workerData: { path, busyTimeoutMs: options.busyTimeoutMs ?? 5_000 } });
    this.worker.on('message', (reply: WorkerReply) => {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) pending?.resolve(reply.value);
      else pending?.reject(Object.assign(new Error(reply.message), reply.code ? { code: reply.code } : {}));
    });
    // A dead writer fails every call from then on; the audit log spools what it cannot write.
    const fail = (error: Error) => {
      this.failure = error;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the audit writer thread exited (${code})`)));
  }

  private call<T>(request: Request): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  write(records: readonly AuditRecord[]): Promise<void> {
    return this.call({ op: 'write', records: records as AuditRecord[] });
  }

  async query(query: AuditQuery): Promise<AuditPage> {
    try {
      return await this.call({ op: 'query', query });
    } catch (error) {
      // Bad cursors are the caller's mistake; the code survives the thread boundary as text.
      if ((error as Error).message.startsWith('invalid cursor')) throw new GuardgateError('invalid_request', (error as Error).message);
      throw error;
    }
  }

  count(): Promise<number> {
    return this.call({ op: 'count' });
  }

  async close(): Promise<void> {
    if (!this.failure) await this.call({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
