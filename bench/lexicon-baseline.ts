// The lexicon's test-split figures the quality test holds it to (written by
// `npx tsx bench/lexicon-quality.ts --write-baseline` once a change is known to be better).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SetFigures } from './lexicon-figures.js';

export const BASELINE_FILE = join(dirname(fileURLToPath(import.meta.url)), 'lexicon-baseline.json');

export const readBaseline = (): SetFigures[] =>
  (JSON.parse(readFileSync(BASELINE_FILE, 'utf8')) as SetFigures[]).map((f) =>
    Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v === null ? NaN : v])),
  ) as unknown as SetFigures[];
