// The one contract every audit store passes: idempotent writes, filters, paging, count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/store/audit/record.js';
import type { AuditStore } from '../../src/store/audit/store.js';

export const auditRecord = (traceId: string, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  id: `record-${traceId}`,
  trace_id: traceId,
  time: new Date(Date.UTC(2026, 10, 26, 12, 0, 0)).toISOString(),
  color: 'blue',
  version: 'v1',
  engine: 'lexicon',
  model: 'lexicon',
  engine_version: '1.0.0',
  target: 'prompt',
  language: 'en',
  text_digest: 'd'.repeat(64),
  prompt: null,
  response: null,
  safety: 'Safe',
  categories: [],
  refusal: null,
  flagged: false,
  policy: 'strict',
  latency_ms: 1.25,
  cached: false,
  degraded: false,
  ...overrides,
});

export function runAuditStoreContract(
  name: string,
  setup: (skip: (note: string) => void) => Promise<{ store: AuditStore; close(): Promise<void> } | undefined>,
): void {
  describe(`audit store contract: ${name}`, () => {
    let fixture: { store: AuditStore; close(): Promise<void> } | undefined;
    let skipped: string | undefined;
    beforeAll(async () => {
      fixture = await setup((note) => (skipped = note));
    });
    afterAll(async () => {
      await fixture?.close();
    });
    const store = (context: { skip: (note: string) => void }): AuditStore => {
      if (skipped !== undefined) context.skip(skipped);
      return fixture!.store;
    };

    it('writes records and reads them back as they were', async (context) => {
      const s = store(context);
      const record = auditRecord('contract-1', {
        safety: 'Unsafe',
        categories: ['Violent', 'PII'],
        flagged: true,
        refusal: true,
        target: 'response',
        prompt: 'p',
        response: 'r',
      });
      await s.write([record]);
      const page = await s.query({ traceId: 'contract-1', limit: 10 });
      expect(page).toEqual({ records: [record], next: null });
    });

    it('keeps every verdict served under one client trace id: the key is the server-made record id', async (context) => {
      const s = store(context);
      const shared = 'contract-shared-trace';
      const records = ['a', 'b', 'c'].map((suffix, i) =>
        auditRecord(shared, { id: `contract-shared-${suffix}`, safety: i === 2 ? 'Unsafe' : 'Safe' }),
      );
      await s.write(records);
      const page = await s.query({ traceId: shared, limit: 10 });
      expect(page.records.map((r) => r.id).sort()).toEqual([
        'contract-shared-a',
        'contract-shared-b',
        'contract-shared-c',
      ]);
      expect(page.records.some((r) => r.safety === 'Unsafe')).toBe(true);
    });

    it('is idempotent on record id: writing the same batch again doubles nothing', async (context) => {
      const s = store(context);
      const before = await s.count();
      const batch = [auditRecord('contract-dup-1'), auditRecord('contract-dup-2')];
      await s.write(batch);
      await s.write(batch);
      await s.write([batch[0]!, auditRecord('contract-dup-3')]);
      expect(await s.count()).toBe(before + 3);
    });

    it('filters by time range, flagged, color and version, newest first, in pages', async (context) => {
      const s = store(context);
      const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
      await s.write(
        Array.from({ length: 12 }, (_, i) =>
          auditRecord(`contract-page-${String(i).padStart(2, '0')}`, {
            time: at(i),
            flagged: i % 3 === 0,
            color: i % 2 ? 'green' : 'blue',
            version: i < 6 ? 'v7' : 'v8',
          }),
        ),
      );
      const since = new Date(Date.UTC(2026, 0, 1, 0, 0));
      const until = new Date(Date.UTC(2026, 0, 1, 0, 12));
      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.query({ since, until, limit: 5, ...(cursor ? { cursor } : {}) });
        all.push(...page.records.map((r) => r.trace_id));
        cursor = page.next ?? undefined;
      } while (cursor);
      expect(all).toEqual(Array.from({ length: 12 }, (_, i) => `contract-page-${String(11 - i).padStart(2, '0')}`));
      const flagged = await s.query({ since, until, flagged: true, limit: 50 });
      expect(flagged.records.map((r) => r.trace_id)).toEqual([
        'contract-page-09',
        'contract-page-06',
        'contract-page-03',
        'contract-page-00',
      ]);
      const greenV8 = await s.query({ since, until, color: 'green', version: 'v8', limit: 50 });
      expect(greenV8.records.map((r) => r.trace_id)).toEqual([
        'contract-page-11',
        'contract-page-09',
        'contract-page-07',
      ]);
    });
  });
}
