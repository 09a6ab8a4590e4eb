// The audit journal: every record is appended to a local file before its verdict is answered, so that a
// kill -9 loses no verdict that was served. Appends are group-committed: the records of one turn of the event
// loop go in one write (and, with `fsync`, one fdatasync), and their verdicts are answered when it returns.
// The journal is written in segments, one open file per process (`<pid>-<start>-<n>.journal`); a segment is
// deleted once every record in it is in the store or the spool. What a killed process leaves is handed to the
// spool (renamed `.jsonl`, a torn last line cut: it was never answered) by the next process that looks, and
// replayed from there. Records are written to the store by id, so a record both stored and replayed is one row.
import {
  closeSync,
  fdatasync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  write,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from './record.js';
import { processRuns } from '../../shared/pid.js';

/** How the journal is written. */
export interface AuditJournalOptions {
  /** fdatasync every group: records survive a power loss too, at the cost of a disk flush per group. */
  fsync: boolean;
  /** Records per segment before the next one is opened. */
  segmentRecords: number;
}

interface Segment {
  readonly name: string;
  readonly fd: number;
  appended: number;
  settled: number;
  closed: boolean;
}

interface Group {
  readonly segment: Segment;
  readonly lines: string[];
  readonly waiters: Array<(error: Error | null) => void>;
}

const SUFFIX = '.journal';

/** Records written before their verdicts are answered, group-committed, in segments. */
export class AuditJournal {
  private readonly tag = `${process.pid}-${Date.now()}`;
  private sequence = 0;
  private segment: Segment | undefined;
  private readonly segments = new Map<string, Segment>();
  /** Groups not yet written, oldest first; one write in flight at a time keeps each file in order. */
  private readonly groups: Group[] = [];
  private committing = false;

  constructor(
    readonly dir: string,
    private readonly options: AuditJournalOptions,
  ) {}

  /**
   * Append a record; resolves when it is written (with a segment to settle later), rejects when the disk
   * refused (the caller keeps the record by other means).
   */
  append(record: AuditRecord): Promise<string> {
    const segment = this.current();
    segment.appended++;
    let group = this.groups.at(-1);
    if (group === undefined || group.segment !== segment) {
      group = { segment, lines: [], waiters: [] };
      this.groups.push(group);
    }
    group.lines.push(JSON.stringify(record));
    this.commitSoon();
    return new Promise((resolve, reject) =>
      group.waiters.push((error) => (error === null ? resolve(segment.name) : reject(error))),
    );
  }

  /** `count` records of a segment are in the store or the spool; a closed segment with all settled is deleted. */
  settle(name: string, count = 1): void {
    const segment = this.segments.get(name);
    if (segment === undefined) return;
    segment.settled += count;
    this.collect(segment);
  }

  /** Segments of processes that are gone, handed to the spool directory as batches to replay. Returns how many records. */
  recoverDead(): number {
    let records = 0;
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith(SUFFIX)) continue;
      const pid = Number(file.split('-')[0]);
      if (!Number.isInteger(pid) || pid === process.pid || processRuns(pid)) continue;
      records += this.handOver(file);
    }
    return records;
  }

  /** On a clean close: what is still unsettled goes to the spool; the rest is deleted. */
  close(): void {
    for (const segment of this.segments.values()) {
      closeSync(segment.fd);
      if (segment.settled >= segment.appended) rmSync(join(this.dir, segment.name), { force: true });
      else this.handOver(segment.name);
    }
    this.segments.clear();
    this.segment = undefined;
  }

  private current(): Segment {
    if (this.segment === undefined || this.segment.appended >= this.options.segmentRecords) {
      if (this.segment !== undefined) {
        this.segment.closed = true;
        this.collect(this.segment);
      }
      const name = `${this.tag}-${this.sequence++}${SUFFIX}`;
      this.segment = { name, fd: openSync(join(this.dir, name), 'a', 0o600), appended: 0, settled: 0, closed: false };
      this.segments.set(name, this.segment);
    }
    return this.segment;
  }

  /** Records are settled only after their write returned: a closed segment with all settled has no write in flight. */
  private collect(segment: Segment): void {
    if (!segment.closed || segment.settled < segment.appended) return;
    this.segments.delete(segment.name);
    closeSync(segment.fd);
    rmSync(join(this.dir, segment.name), { force: true });
  }

  private commitSoon(): void {
    if (this.committing) return;
    this.committing = true;
    setImmediate(() => this.commit());
  }

  /** One write per group, one in flight at a time. */
  private commit(): void {
    const group = this.groups.shift();
    if (group === undefined) {
      this.committing = false;
      return;
    }
    const done = (error: Error | null) => {
      // Records the disk refused are not in the journal: the caller holds them, and they never settle here.
      if (error !== null) group.segment.appended -= group.lines.length;
      for (const waiter of group.waiters) waiter(error);
      setImmediate(() => this.commit());
    };
    const bytes = Buffer.from(group.lines.join('\n') + '\n');
    write(group.segment.fd, bytes, 0, bytes.length, null, (error, written) => {
      if (error !== null) return done(error);
      if (written !== bytes.length)
        return done(new Error(`the audit journal took ${written} of ${bytes.length} bytes (disk full?)`));
      if (!this.options.fsync) return done(null);
      fdatasync(group.segment.fd, done);
    });
  }

  /** A segment as a spool batch: complete lines only (a torn last line was never answered), under a temporary name first. */
  private handOver(file: string): number {
    const path = join(this.dir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return 0; // another process took it
    }
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    const base = file.slice(0, -SUFFIX.length);
    if (whole !== '') {
      writeFileSync(join(this.dir, `${base}.tmp`), whole);
      renameSync(join(this.dir, `${base}.tmp`), join(this.dir, `${base}.jsonl`));
    }
    rmSync(path, { force: true });
    return whole === '' ? 0 : whole.split('\n').length - 1;
  }
}
