// The local spool: audit batches that could not reach the store wait here, one JSON line per record,
// one file per batch, until they are replayed. Appends are synchronous so that a record is on disk
// before the request path moves on.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from './record.js';

/** Batches the store could not take, waiting on disk to be replayed. */
export class AuditSpool {
  private sequence = 0;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Write one batch to its own file: under a temporary name, then renamed, so that a reader never sees half
   * a batch. Throws when the disk refuses (the caller keeps the batch).
   */
  append(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    // An empty probe first: a refusing disk is found before a large batch is serialised for nothing.
    const probe = join(this.dir, `probe-${process.pid}.tmp`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    const name = `${Date.now()}-${process.pid}-${this.sequence++}`;
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const temporary = join(this.dir, `${name}.tmp`);
    try {
      writeFileSync(temporary, text, { flag: 'wx' });
      renameSync(temporary, join(this.dir, `${name}.jsonl`));
    } catch (error) {
      try {
        rmSync(temporary, { force: true });
      } catch {
        // the directory refuses even that; a leftover .tmp is never read as a batch
      }
      throw error;
    }
  }

  /** Spooled batch files, oldest first. */
  files(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort();
  }

  /**
   * The records of one batch file; none when another process replayed and removed it meanwhile. A file that
   * does not parse (written by a crash before files were renamed into place) is set aside as `.bad` with
   * its readable lines returned, so that it never blocks the files after it.
   */
  read(file: string): AuditRecord[] {
    let text: string;
    try {
      text = readFileSync(join(this.dir, file), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const lines = text.split('\n').filter((line) => line !== '');
    const records: AuditRecord[] = [];
    for (const line of lines) {
      try {
        const record = JSON.parse(line) as AuditRecord;
        // Spooled before records had ids: the trace id was the key then, and stays it (as the table migration does).
        record.id ??= record.trace_id;
        records.push(record);
      } catch {
        // an unreadable line: the file is set aside below
      }
    }
    if (records.length < lines.length) renameSync(join(this.dir, file), join(this.dir, `${file}.bad`));
    return records;
  }

  remove(file: string): void {
    rmSync(join(this.dir, file), { force: true });
  }

  /** Records waiting in the spool. */
  backlog(): number {
    return this.files().reduce((sum, file) => sum + this.read(file).length, 0);
  }
}
