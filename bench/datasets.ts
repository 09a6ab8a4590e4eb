// The public evaluation sets in ../shared/data (XSTest, SimpleSafetyTests), read as labelled prompts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LabelledPrompt {
  id: string;
  prompt: string;
  unsafe: boolean;
  type: string;
}

export const DATA_DIR =
  process.env.GUARDGATE_DATA_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data');

/** RFC 4180 CSV: quoted fields, doubled quotes, newlines inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = (): void => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endField();
      rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f !== ''));
}

function readRecords(file: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(readFileSync(join(DATA_DIR, file), 'utf8'));
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i] ?? ''])));
}

/**
 * A fixed split of each set: `test` (about 30%, by a hash of the set and id) is held back from rule writing from
 * lexicon 1.2.0 on; `dev` is what rules may be tuned on. Both were seen when the rules up to 1.2.0 were written.
 */
export const splitOf = (set: string, id: string): 'dev' | 'test' =>
  createHash('sha256').update(`${set}:${id}`).digest()[0]! < 77 ? 'test' : 'dev';

export const DATASETS: Record<string, () => LabelledPrompt[]> = {
  xstest: () =>
    readRecords('xstest_prompts.csv').map((r) => ({
      id: r.id!,
      prompt: r.prompt!,
      unsafe: r.label === 'unsafe',
      type: r.type!,
    })),
  simple_safety_tests: () =>
    readRecords('simple_safety_tests.csv').map((r) => ({
      id: r.id!,
      prompt: r.prompts_final!,
      unsafe: true,
      type: r.harm_area!,
    })),
};
