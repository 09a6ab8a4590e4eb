// The public evaluation sets, read as labelled prompts: XSTest and SimpleSafetyTests from ../shared/data, the
// others from data/eval (sources and licences in its README).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
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

/** Where the sets this project ships are (data/eval; see its README for sources and licences). */
export const EVAL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'eval');

function readRecords(file: string, dir = DATA_DIR): Record<string, string>[] {
  const [header, ...rows] = parseCsv(readFileSync(join(dir, file), 'utf8').replace(/^\uFEFF/, ''));
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i] ?? ''])));
}

/**
 * A fixed split of each set: `test` (about 30%, by a hash of the set and id) is held back from rule writing;
 * `dev` is what rules may be written from. For XSTest and SimpleSafetyTests both splits were seen when the
 * rules up to lexicon 1.2.0 were written; every other set was added with lexicon 1.4.0 and its test split has
 * never been looked at (`bench/lexicon-quality.ts --errors` prints dev errors only).
 */
export const splitOf = (set: string, id: string): 'dev' | 'test' =>
  createHash('sha256')
    .update(`${splitKeyOf(set)}:${id}`)
    .digest()[0]! < 77
    ? 'test'
    : 'dev';

/** MultiJail's languages share one split: a prompt held back is held back in every language. */
const splitKeyOf = (set: string): string => (set.startsWith('multijail_') ? 'multijail' : set);

/** The MultiJail languages: English, the two the rules read, and eight they do not. */
export const MULTIJAIL_LANGUAGES = ['en', 'zh', 'it', 'vi', 'ar', 'ko', 'th', 'bn', 'sw', 'jv'] as const;

const OPENAI_LABELS = ['S', 'H', 'V', 'HR', 'SH', 'S3', 'H2', 'V2'];

/** MultiJail's prompts in one language (all harmful; the same 315 in every language, so one split for all). */
const multijail = (language: string) => (): LabelledPrompt[] =>
  readRecords('multijail.csv', EVAL_DIR).map((r) => ({
    id: r.id!,
    prompt: r[language]!,
    unsafe: true,
    type: r.tags!,
  }));

/** Every labelled set, by name. */
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
  jbb_benign: () =>
    readRecords('jbb_benign_behaviors.csv', EVAL_DIR).map((r) => ({
      id: r.id!,
      prompt: r.goal!,
      unsafe: false,
      type: r.category!,
    })),
  openai_moderation: () =>
    gunzipSync(readFileSync(join(EVAL_DIR, 'openai_moderation_samples-1680.jsonl.gz')))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line, i) => {
        const r = JSON.parse(line) as Record<string, string | number>;
        const labels = OPENAI_LABELS.filter((k) => r[k] === 1);
        return { id: String(i), prompt: String(r.prompt), unsafe: labels.length > 0, type: labels.join(',') || 'none' };
      }),
  cvalues_zh: () =>
    readFileSync(join(EVAL_DIR, 'cvalues_responsibility_prompts.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const r = JSON.parse(line) as { id_: number; prompt: string; domain_en: string };
        return { id: String(r.id_), prompt: r.prompt, unsafe: false, type: r.domain_en };
      }),
  harmbench: () =>
    readRecords('harmbench_behaviors_text_all.csv', EVAL_DIR)
      .filter((r) => r.FunctionalCategory === 'standard')
      .map((r) => ({ id: r.BehaviorID!, prompt: r.Behavior!, unsafe: true, type: r.SemanticCategory! })),
  advbench: () =>
    // The file's header names its columns the wrong way round: the first holds the request.
    readRecords('advbench_harmful_behaviors.csv', EVAL_DIR).map((r, i) => ({
      id: String(i),
      prompt: r.target!,
      unsafe: true,
      type: 'harmful',
    })),
  strongreject: () =>
    readRecords('strongreject_dataset.csv', EVAL_DIR).map((r, i) => ({
      id: String(i),
      prompt: r.forbidden_prompt!,
      unsafe: true,
      type: r.category!,
    })),
  ...Object.fromEntries(MULTIJAIL_LANGUAGES.map((language) => [`multijail_${language}`, multijail(language)])),
};
