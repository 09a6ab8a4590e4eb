// Quality floor of the embedded rules on the public sets in ../shared/data (XSTest, SimpleSafetyTests).
// The rules were written while looking at these sets, so this guards against regressions; it does not
// measure how the rules generalise. bench/lexicon-quality.ts prints the full figures.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judge } from '../../../src/engines/lexicon/judge.js';
import { isFlagged } from '../../../src/moderation/policy.js';
import { DATA_DIR, DATASETS } from '../../../bench/datasets.js';

const available = existsSync(join(DATA_DIR, 'xstest_prompts.csv'));

function rates(name: keyof typeof DATASETS) {
  const items = DATASETS[name]!();
  const flagged = (unsafe: boolean) =>
    items
      .filter((item) => item.unsafe === unsafe)
      .map((item) => isFlagged(judge({ prompt: item.prompt }).safety, 'strict'));
  const share = (values: boolean[]) => (values.length === 0 ? 0 : values.filter(Boolean).length / values.length);
  return { recall: share(flagged(true)), falsePositiveRate: share(flagged(false)) };
}

describe('lexicon quality on the public evaluation sets', () => {
  it('finds the evaluation data (required under CI)', (context) => {
    if (!available && process.env.CI !== 'true') context.skip(`no evaluation data at ${DATA_DIR}`);
    expect(available).toBe(true);
  });

  it('XSTest, strict: flags at least 90% of the unsafe prompts and at most 5% of the safe look-alikes', (context) => {
    if (!available && process.env.CI !== 'true') context.skip(`no evaluation data at ${DATA_DIR}`);
    const { recall, falsePositiveRate } = rates('xstest');
    expect(recall).toBeGreaterThanOrEqual(0.9);
    expect(falsePositiveRate).toBeLessThanOrEqual(0.05);
  });

  it('SimpleSafetyTests, strict: flags at least 95% of the prompts', (context) => {
    if (!available && process.env.CI !== 'true') context.skip(`no evaluation data at ${DATA_DIR}`);
    expect(rates('simple_safety_tests').recall).toBeGreaterThanOrEqual(0.95);
  });
});
