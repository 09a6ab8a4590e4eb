// The audit log: a verdict's record is appended to the local journal (group-committed) before the verdict is
// answered, then buffered, written to the store in batches off the request path, spooled to a local file when
// the store cannot take them, replayed later, and flushed on shutdown. A kill -9 loses nothing answered: the
// next process hands the journal to the spool. When the journal's disk refuses, records are held in memory. When the spool fails too, records stay in memory up to `maxHeld`; past that the
// log is saturated and the instance stops serving verdicts it could not audit. Nothing is dropped; writes
// are idempotent on the record id.
import { Tally } from '../../shared/tally.js';
import type { AuditJournal } from './journal.js';
import type { AuditRecord } from './record.js';
import type { AuditSpool } from './spool.js';
import type { AuditStore } from './store.js';

/** How the audit log batches, spools and holds records. */
export interface AuditLogOptions {
  /** Records per write to the store. */
  batchSize: number;
  /** How often the buffer is written even when a batch is not full. */
  flushIntervalMs: number;
  /** Records buffered before the buffer goes to the spool at once. */
  bufferSize: number;
  /** Records held in memory at most when neither the store nor the spool takes them: then the log is saturated. */
  maxHeld: number;
  /** How often the spool is replayed while it has records. */
  replayIntervalMs: number;
}

/** What the audit log tells of its work. */
export interface AuditLogEvents {
  written?: (count: number) => void;
  spooled?: (count: number, error: unknown) => void;
  replayed?: (count: number) => void;
  /**
   * The spool itself failed (disk full, permissions): loud, because records are then held in memory. Told at
   * most every 5 s, with how many failures there were since the last time.
   */
  failed?: (error: unknown, failures: number) => void;
}

/** Records not yet in the store: buffered and spooled. */
export interface AuditBacklog {
  buffered: number;
  spooled: number;
}

/** A record, and the journal segment it is written in (none when the journal refused it). */
interface Entry {
  record: AuditRecord;
  segment: string | undefined;
}

const recordsOf = (entries: readonly Entry[]): AuditRecord[] => entries.map((e) => e.record);

/** Every served verdict recorded once: journaled, buffered, written in batches, spooled when the store fails. */
export class AuditLog {
  private buffer: Entry[] = [];
  private spooledCount: number;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private replayTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** When a spool write last failed: a spill on the request path is not tried again for a second. */
  private spoolFailedAt = -Infinity;

  constructor(
    private readonly store: AuditStore,
    private readonly spool: AuditSpool,
    private readonly options: AuditLogOptions,
    private readonly events: AuditLogEvents = {},
    private readonly journal?: AuditJournal,
  ) {
    // What killed processes journaled goes to the spool, and from there to the store with the spool's replay.
    journal?.recoverDead();
    this.spooledCount = spool.backlog();
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
    this.replayTimer = setInterval(() => void this.replay(), options.replayIntervalMs);
    this.replayTimer.unref();
  }

  /** Neither the store nor the spool takes records, and memory holds as many as it may: serve no more verdicts. */
  get saturated(): boolean {
    return this.buffer.length + this.writing >= this.options.maxHeld;
  }

  /**
   * On the request path: resolves once the record is in the journal (its verdict may then be answered). When
   * the journal refuses, the record is held in memory like the rest and the failure told (loudly, bounded).
   */
  async record(record: AuditRecord): Promise<void> {
    let segment: string | undefined;
    if (this.journal !== undefined) {
      try {
        segment = await this.journal.append(record);
      } catch (error) {
        this.spoolFailed(error);
      }
    }
    this.hold({ record, segment });
  }

  /** O(1), no I/O unless the buffer is full and spills to the spool. */
  private hold(entry: Entry): void {
    this.buffer.push(entry);
    if (this.buffer.length >= this.options.bufferSize && performance.now() - this.spoolFailedAt > 1_000) {
      try {
        this.spill(this.buffer, new Error('audit buffer full'));
        this.buffer = [];
      } catch (error) {
        this.spoolFailed(error); // the records stay in memory rather than be lost
      }
    } else if (this.buffer.length >= this.options.batchSize && !this.flushQueued) {
      // One flush asked for by the request path at a time: a failing store must not queue one per request.
      this.flushQueued = true;
      void this.flush().finally(() => (this.flushQueued = false));
    }
  }

  /** These records are in the store or the spool: their journal segments may go. */
  private settled(entries: readonly Entry[]): void {
    if (this.journal === undefined) return;
    let segment: string | undefined;
    let count = 0;
    for (const entry of entries) {
      if (entry.segment === segment) {
        count++;
        continue;
      }
      if (segment !== undefined) this.journal.settle(segment, count);
      segment = entry.segment;
      count = 1;
    }
    if (segment !== undefined) this.journal.settle(segment, count);
  }

  private flushQueued = false;
  /** Records taken out of the buffer for a store write that has not settled: still held in memory. */
  private writing = 0;

  private readonly spoolFailures = new Tally(5_000);

  private spoolFailed(error: unknown): void {
    this.spoolFailedAt = performance.now();
    const failures = this.spoolFailures.add(this.spoolFailedAt);
    if (failures !== undefined) this.events.failed?.(error, failures);
  }

  backlog(): AuditBacklog {
    return { buffered: this.buffer.length, spooled: this.spooledCount };
  }

  /** Run store work one task at a time; a failed task never stops the ones after it. */
  private serially(task: () => Promise<void>): Promise<void> {
    this.flushing = this.flushing.then(task).catch((error: unknown) => this.spoolFailed(error));
    return this.flushing;
  }

  /**
   * Write what is buffered; batches the store refuses go to the spool; a batch the spool refuses too goes
   * back to the front of the buffer, and this flush stops (the next one tries again).
   */
  flush(): Promise<void> {
    return this.serially(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.options.batchSize);
        this.writing = batch.length;
        try {
          await this.store.write(recordsOf(batch));
          this.writing = 0;
          this.settled(batch);
          this.events.written?.(batch.length);
        } catch (error) {
          this.writing = 0;
          // The spool failed a moment ago: keep the batch without trying (and serialising) it again yet.
          if (performance.now() - this.spoolFailedAt < 1_000) {
            this.buffer.unshift(...batch);
            return;
          }
          try {
            this.spill(batch, error);
          } catch (spoolError) {
            this.buffer.unshift(...batch);
            this.spoolFailed(spoolError);
            return;
          }
        }
      }
    });
  }

  private spill(batch: Entry[], error: unknown): void {
    this.spool.append(recordsOf(batch));
    this.settled(batch);
    this.spooledCount += batch.length;
    this.events.spooled?.(batch.length, error);
  }

  /** Write spooled batches to the store, oldest first; stop at the first failure. Safe to repeat. */
  replay(): Promise<void> {
    return this.serially(async () => {
      if (this.journal !== undefined) this.spooledCount += this.journal.recoverDead();
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

  /**
   * Stop the timers, then replay and flush until everything is in the store or `deadlineMs` has passed (a
   * store that is recovering gets a moment); what is still not stored is in the spool for the next start,
   * or, when even the spool fails, reported as lost. Called on graceful shutdown.
   */
  async close(deadlineMs = 3_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.replayTimer);
    const deadline = performance.now() + deadlineMs;
    for (;;) {
      await this.replay();
      await this.flush();
      const { buffered, spooled } = this.backlog();
      if ((buffered === 0 && spooled === 0) || performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (this.buffer.length > 0)
      this.events.failed?.(
        new Error(`${this.buffer.length} audit records could be neither stored nor spooled before exit`),
        this.buffer.length,
      );
    this.journal?.close();
    await this.store.close();
  }
}
