// The audit log: verdicts are recorded on the request path into a bounded buffer (no I/O), written to
// the store in batches off the request path, spooled to a local file when the store cannot take them,
// replayed later, and flushed on shutdown. Nothing is dropped; writes are idempotent on trace id.
import type { AuditRecord } from './record.js';
import type { AuditSpool } from './spool.js';
import type { AuditStore } from './store.js';

export interface AuditLogOptions {
  /** Records per write to the store. */
  batchSize: number;
  /** How often the buffer is written even when a batch is not full. */
  flushIntervalMs: number;
  /** Records held in memory at most; beyond it the buffer goes to the spool at once. */
  bufferSize: number;
  /** How often the spool is replayed while it has records. */
  replayIntervalMs: number;
}

export interface AuditLogEvents {
  written?: (count: number) => void;
  spooled?: (count: number, error: unknown) => void;
  replayed?: (count: number) => void;
  /** The spool itself failed (disk full, permissions): loud, because records are then at risk. */
  failed?: (error: unknown) => void;
}

export interface AuditBacklog {
  buffered: number;
  spooled: number;
}

export class AuditLog {
  private buffer: AuditRecord[] = [];
  private spooledCount: number;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private replayTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: AuditStore,
    private readonly spool: AuditSpool,
    private readonly options: AuditLogOptions,
    private readonly events: AuditLogEvents = {},
  ) {
    this.spooledCount = spool.backlog();
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
    this.replayTimer = setInterval(() => void this.replay(), options.replayIntervalMs);
    this.replayTimer.unref();
  }

  /** On the request path: O(1), no I/O unless the buffer is full and spills to the spool. */
  record(record: AuditRecord): void {
    this.buffer.push(record);
    if (this.buffer.length >= this.options.bufferSize) {
      try {
        this.spill(this.buffer, new Error('audit buffer full'));
        this.buffer = [];
      } catch (error) {
        this.events.failed?.(error); // keep the records in memory rather than lose them
      }
    } else if (this.buffer.length >= this.options.batchSize) {
      void this.flush();
    }
  }

  backlog(): AuditBacklog {
    return { buffered: this.buffer.length, spooled: this.spooledCount };
  }

  /** Run store work one task at a time; a failed task never stops the ones after it. */
  private serially(task: () => Promise<void>): Promise<void> {
    this.flushing = this.flushing.then(task).catch((error: unknown) => this.events.failed?.(error));
    return this.flushing;
  }

  /** Write what is buffered; batches the store refuses go to the spool. */
  flush(): Promise<void> {
    return this.serially(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.options.batchSize);
        try {
          await this.store.write(batch);
          this.events.written?.(batch.length);
        } catch (error) {
          this.spill(batch, error);
        }
      }
    });
  }

  private spill(batch: AuditRecord[], error: unknown): void {
    this.spool.append(batch);
    this.spooledCount += batch.length;
    this.events.spooled?.(batch.length, error);
  }

  /** Write spooled batches to the store, oldest first; stop at the first failure. Safe to repeat. */
  replay(): Promise<void> {
    return this.serially(async () => {
      for (const file of this.spool.files()) {
        const records = this.spool.read(file);
        try {
          await this.store.write(records);
        } catch {
          return;
        }
        this.spool.remove(file);
        this.spooledCount = Math.max(0, this.spooledCount - records.length);
        this.events.replayed?.(records.length);
      }
    });
  }

  /** Flush and replay once more, then stop the timers and close the store. Called on graceful shutdown. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.replayTimer);
    await this.replay();
    await this.flush();
    await this.store.close();
  }
}
