// Lexicon engine quality on the public sets in ../shared/data: precision, recall, F1 and the
// false-positive rate on safe prompts, strict and loose, on each set's dev and test split (datasets.ts).
// In-sample all of it: the rules up to 1.2.0 were written looking at both splits; the test split is held back
// from now on. Run: npx tsx bench/lexicon-quality.ts [--errors]
import { judge } from '../src/engines/lexicon/judge.js';
import { isFlagged } from '../src/moderation/policy.js';
import { POLICIES } from '../src/moderation/taxonomy.js';
import { DATASETS, splitOf } from './datasets.js';

const showErrors = process.argv.includes('--errors');
const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : '  n/a');

console.log('set                       policy  n    precision  recall  F1     FPR(safe)');
for (const [set, load] of Object.entries(DATASETS))
  for (const split of ['dev', 'test'] as const) {
    const name = `${set} ${split}`;
    const items = load().filter((item) => splitOf(set, item.id) === split);
    const verdicts = items.map((item) => judge({ prompt: item.prompt }));
    for (const policy of POLICIES) {
      let tp = 0,
        fp = 0,
        fn = 0,
        tn = 0;
      items.forEach((item, i) => {
        const flagged = isFlagged(verdicts[i]!.safety, policy);
        if (flagged && item.unsafe) tp++;
        else if (flagged) fp++;
        else if (item.unsafe) fn++;
        else tn++;
        if (showErrors && policy === 'strict' && flagged !== item.unsafe) {
          console.log(
            `  ${item.unsafe ? 'MISS' : 'FP  '} [${item.type}] ${item.prompt} -> ${verdicts[i]!.safety} ${verdicts[i]!.categories.join(',')}`,
          );
        }
      });
      const precision = tp / (tp + fp);
      const recall = tp / (tp + fn);
      const f1 = (2 * precision * recall) / (precision + recall);
      const fpr = fp / (fp + tn);
      console.log(
        `${name.padEnd(25)} ${policy.padEnd(7)} ${String(items.length).padEnd(4)} ${pct(precision).padStart(9)}  ${pct(recall).padStart(6)}  ${pct(f1).padStart(5)}  ${pct(fpr).padStart(8)}`,
      );
    }
  }
