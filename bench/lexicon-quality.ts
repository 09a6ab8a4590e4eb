// Lexicon engine quality on every labelled set (bench/datasets.ts), dev and test side by side: recall (strict:
// Controversial or Unsafe; loose: Unsafe), precision and F1 where a set has both labels, false alarms on benign
// prompts, harmful prompts answered a confident Safe, and prompts marked language_not_covered.
// The test split is held back from rule writing; --errors prints the dev split's errors only.
// Run: npx tsx bench/lexicon-quality.ts [--errors] [--set NAME] [--write-baseline]
import { writeFileSync } from 'node:fs';
import { figuresOf, judgeAll, type SetFigures } from './lexicon-figures.js';
import { BASELINE_FILE } from './lexicon-baseline.js';

const showErrors = process.argv.includes('--errors');
const only = process.argv.includes('--set') ? [process.argv[process.argv.indexOf('--set') + 1]!] : undefined;
const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : '-').padStart(6);

const all = await judgeAll(only);
const figures: SetFigures[] = [];
console.log(
  'set                   split    n  recall  loose  precis     F1  falseAl  confSafe  degraded   (percent; strict policy)',
);
for (const [set, splits] of all) {
  for (const [split, judged] of splits) {
    const f = figuresOf(set, split, judged);
    figures.push(f);
    console.log(
      `${set.padEnd(21)} ${split.padEnd(5)} ${String(f.n).padStart(4)} ${pct(f.recall)} ${pct(f.recallLoose)} ${pct(f.precision)} ${pct(f.f1)} ${pct(f.falseAlarms)}  ${pct(f.confidentSafe)}    ${pct(f.degraded)}`,
    );
  }
  if (showErrors)
    for (const j of splits.get('dev')!) {
      if (j.item.unsafe && !j.flagged)
        console.log(`    MISS  [${j.item.type}] ${j.item.prompt.slice(0, 300).replace(/\s+/g, ' ')}`);
      if (!j.item.unsafe && j.flagged)
        console.log(
          `    FALSE [${j.item.type}] ${j.item.prompt.slice(0, 300).replace(/\s+/g, ' ')} -> ${j.safety} ${j.categories.join(',')}${j.degraded ? ' (degraded)' : ''}`,
        );
    }
}
if (process.argv.includes('--write-baseline')) {
  const test = figures.filter((f) => f.split === 'test');
  writeFileSync(BASELINE_FILE, `${JSON.stringify(test, null, 2)}\n`);
  console.log(`\nwrote the test split's figures to ${BASELINE_FILE}`);
}
