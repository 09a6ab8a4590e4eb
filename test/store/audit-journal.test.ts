// The audit journal: records are written before they are acknowledged, segments go once every record in
// them is stored, and what a dead process left is handed to the spool with a torn last line cut.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditJournal } from '../../src/store/audit/journal.js';
import { AuditSpool } from '../../src/store/audit/spool.js';
import { auditRecord } from './audit-contract.js';

const files = (dir: string) => readdirSync(dir).sort();

describe('the audit journal', () => {
  it('writes a record before it resolves, opens a new segment every N records, and deletes a segment once all of it is settled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-journal-'));
    const journal = new AuditJournal(dir, { fsync: true, segmentRecords: 4 });
    const segments = await Promise.all(Array.from({ length: 10 }, (_, i) => journal.append(auditRecord(`j-${i}`))));
    expect(new Set(segments).size).toBe(3);
    const text = files(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('');
    expect(
      text
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { id: string }).id),
    ).toEqual(Array.from({ length: 10 }, (_, i) => auditRecord(`j-${i}`).id));
    for (const segment of segments.slice(0, 4)) journal.settle(segment);
    expect(files(dir)).toHaveLength(2); // the first segment is whole and settled: gone
    journal.settle(segments[4]!, 4);
    expect(files(dir)).toHaveLength(1); // the open segment stays until it is closed
    journal.close(); // two records of it unsettled: handed to the spool
    const spool = new AuditSpool(dir);
    expect(spool.files()).toHaveLength(1);
    expect(spool.read(spool.files()[0]!).map((r) => r.id)).toEqual([auditRecord('j-8').id, auditRecord('j-9').id]);
  });

  it("hands a dead process's journal to the spool, complete lines only (a torn last line was never acknowledged); a live one stays", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-journal-'));
    const lines = [auditRecord('dead-1'), auditRecord('dead-2')].map((r) => JSON.stringify(r)).join('\n');
    writeFileSync(join(dir, '999999-1-0.journal'), `${lines}\n{"id":"torn`); // pid 999999: not running
    writeFileSync(join(dir, `${process.ppid}-1-0.journal`), `${lines}\n`); // a live process (the test runner's parent)
    const journal = new AuditJournal(dir, { fsync: false, segmentRecords: 100 });
    expect(journal.recoverDead()).toBe(2);
    const spool = new AuditSpool(dir);
    expect(spool.files()).toEqual(['999999-1-0.jsonl']);
    expect(spool.read('999999-1-0.jsonl').map((r) => r.id)).toEqual([
      auditRecord('dead-1').id,
      auditRecord('dead-2').id,
    ]);
    expect(files(dir)).toContain(`${process.ppid}-1-0.journal`);
  });
});
