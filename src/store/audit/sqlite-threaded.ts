// The default audit store: SQLite in a worker thread (sqlite-worker.ts), so that a slow write or a disk
// sync never stalls request handling. Same interface, same file, same behaviour as SqliteAuditStore. A thread
// that dies (the file could not be opened, the disk failed) fails the calls in flight and is started again
// for the next call, at most once a second: the audit log spools meanwhile.
import { Worker } from 'node:worker_threads';
import { GuardgateError } from '../../vocabulary/errors.js';
import { builtFile } from '../../shared/built.js';
import type { AuditRecord } from './record.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.js';
import type { AuditPage, AuditQuery, AuditStore } from './store.js';

const WORKER = builtFile('store/audit/sqlite-worker.js');

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const RESTART_AFTER_MS = 1_000;

/** The SQLite audit store with its writes in a worker thread (the request path never waits on the disk). */
export class ThreadedSqliteAuditStore implements AuditStore {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private failedAt = -Infinity;
  private closing = false;
  /** Threads started after the first (a metric and a test's evidence). */
  restarts = -1;

  constructor(
    private readonly path: string,
    private readonly options: { busyTimeoutMs?: number } = {},
  ) {
    this.start();
  }

  private start(): Worker {
    this.restarts++;
    this.failure = undefined;
    const worker = new Worker(WORKER, {
      workerData: { path: this.path, busyTimeoutMs: this.options.busyTimeoutMs ?? 5_000 },
    });
    worker.on('message', (reply: WorkerReply) => {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) pending?.resolve(reply.value);
      else pending?.reject(Object.assign(new Error(reply.message), reply.code ? { code: reply.code } : {}));
    });
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failure = error;
      this.failedAt = performance.now();
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the audit writer thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private call<T>(request: Request): Promise<T> {
    let worker = this.worker;
    if (worker === undefined) {
      if (this.closing || performance.now() - this.failedAt < RESTART_AFTER_MS)
        return Promise.reject(this.failure ?? new Error('the audit store is closed'));
      worker = this.start();
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
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
      if ((error as Error).message.startsWith('invalid cursor'))
        throw new GuardgateError('invalid_request', (error as Error).message);
      throw error;
    }
  }

  count(): Promise<number> {
    return this.call({ op: 'count' });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (worker !== undefined) await this.call({ op: 'close' }).catch(() => undefined);
    this.closing = true;
    this.worker = undefined;
    await worker?.terminate();
  }
}
