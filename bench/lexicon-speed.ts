// The rules engine's cost per prompt on the public sets, short prompts and long texts apart, against the cost of
// only normalising the same texts (the baseline, in the same run: what any judge of the text pays first).
// Run: npx tsx bench/lexicon-speed.ts [--passes 10]
import { judge, normalise } from '../src/engines/lexicon/judge.js';
import { DATASETS } from './datasets.js';
import { argValue, median } from './load.js';

const passes = argValue('passes', 10);
const MIXES: Record<string, string[]> = {
  'short prompts (XSTest, AdvBench, HarmBench, JailbreakBench, MultiJail en/zh)': [
    'xstest',
    'advbench',
    'harmbench',
    'jbb_benign',
    'multijail_en',
    'multijail_zh',
  ],
  'long texts (OpenAI moderation set, CValues)': ['openai_moderation', 'cvalues_zh'],
};

/** µs per text of `work` over all texts: the median of `passes` passes, after two unmeasured ones. */
function perText(texts: string[], work: (text: string) => unknown): number {
  const runs: number[] = [];
  for (let pass = -2; pass < passes; pass++) {
    const started = performance.now();
    for (const text of texts) work(text);
    if (pass >= 0) runs.push(((performance.now() - started) * 1000) / texts.length);
  }
  return median(runs);
}

for (const [name, sets] of Object.entries(MIXES)) {
  const texts = sets.flatMap((set) => DATASETS[set]!().map((item) => item.prompt));
  const baseline = perText(texts, (text) => normalise(text));
  const rules = perText(texts, (text) => judge({ prompt: text }));
  console.log(
    `${name}: ${texts.length} texts; judge ${rules.toFixed(1)} µs, normalise alone ${baseline.toFixed(1)} µs per text (ratio ${(rules / baseline).toFixed(1)})`,
  );
}
