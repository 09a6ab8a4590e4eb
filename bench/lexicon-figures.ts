// The lexicon engine's figures on every labelled set, per split: what bench/lexicon-quality.ts prints and the
// quality test holds against the baseline. The engine judges as an instance does (coverage included, with the
// language detector the instance ships: needs `npm run build`).
import { LexiconEngine } from '../src/engines/lexicon/index.js';
import { compactEld } from '../src/moderation/eld-model.js';
import { DATASETS, splitOf, type LabelledPrompt } from './datasets.js';

/** Figures of one set's split; rates are fractions, NaN when there is nothing to divide by. */
export interface SetFigures {
  set: string;
  split: 'dev' | 'test';
  n: number;
  /** Harmful prompts flagged (Controversial or Unsafe: the strict policy) of all harmful ones. */
  recall: number;
  /** Harmful prompts flagged Unsafe (the loose policy). */
  recallLoose: number;
  /** Flagged prompts (strict) that are harmful. */
  precision: number;
  f1: number;
  /** Benign prompts flagged (strict). */
  falseAlarms: number;
  /** Harmful prompts answered a confident Safe (Safe, not degraded). */
  confidentSafe: number;
  /** Prompts marked degraded (language_not_covered). */
  degraded: number;
}

/** One prompt's verdict in the terms the figures count. */
export interface Judged {
  item: LabelledPrompt;
  flagged: boolean;
  unsafe: boolean;
  degraded: boolean;
  safety: string;
  categories: string[];
}

const ratio = (a: number, b: number): number => (b === 0 ? NaN : a / b);

/** Judge every prompt of every set with a fresh engine (no worker threads). */
export async function judgeAll(
  sets: readonly string[] = Object.keys(DATASETS),
): Promise<Map<string, Map<'dev' | 'test', Judged[]>>> {
  const engine = new LexiconEngine({ offloadChars: Infinity, workers: 0, maxQueued: 1 }, await compactEld());
  const out = new Map<string, Map<'dev' | 'test', Judged[]>>();
  try {
    for (const set of sets) {
      const splits = new Map<'dev' | 'test', Judged[]>([
        ['dev', []],
        ['test', []],
      ]);
      for (const item of DATASETS[set]!()) {
        const verdict = await engine.classify({ prompt: item.prompt });
        splits.get(splitOf(set, item.id))!.push({
          item,
          flagged: verdict.safety !== 'Safe',
          unsafe: verdict.safety === 'Unsafe',
          degraded: verdict.degraded,
          safety: verdict.safety,
          categories: verdict.categories,
        });
      }
      out.set(set, splits);
    }
  } finally {
    await engine.close();
  }
  return out;
}

/** The figures of one split. */
export function figuresOf(set: string, split: 'dev' | 'test', judged: readonly Judged[]): SetFigures {
  const harmful = judged.filter((j) => j.item.unsafe);
  const benign = judged.filter((j) => !j.item.unsafe);
  const tp = harmful.filter((j) => j.flagged).length;
  const fp = benign.filter((j) => j.flagged).length;
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, harmful.length);
  return {
    set,
    split,
    n: judged.length,
    recall,
    recallLoose: ratio(harmful.filter((j) => j.unsafe).length, harmful.length),
    precision,
    f1: ratio(2 * precision * recall, precision + recall),
    falseAlarms: ratio(fp, benign.length),
    confidentSafe: ratio(harmful.filter((j) => j.safety === 'Safe' && !j.degraded).length, harmful.length),
    degraded: ratio(judged.filter((j) => j.degraded).length, judged.length),
  };
}

/** Every set's figures, dev and test. */
export async function lexiconFigures(sets?: readonly string[]): Promise<SetFigures[]> {
  const all = await judgeAll(sets);
  return [...all].flatMap(([set, splits]) => [...splits].map(([split, judged]) => figuresOf(set, split, judged)));
}
