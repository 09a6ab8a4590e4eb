// No input can buy unbounded work: every PII detector and every rule runs in time proportional to the
// text (adversarial inputs grown fourfold cost about four times the CPU, not sixteen), one request may ask
// for a bounded number of characters, and large inputs are judged off the thread that answers /healthz.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LexiconEngine } from '../../src/engines/lexicon/index.js';
import { judge } from '../../src/engines/lexicon/judge.js';
import { BENIGN, BENIGN_ZH, RULES_EN, RULES_ZH } from '../../src/engines/lexicon/rules.js';
import { findPii } from '../../src/moderation/pii.js';
import type { RunningInstance } from '../../src/instance/run.js';
import { postJson, startTestInstance } from '../helpers/instance.js';

/** CPU microseconds of the fastest of `runs` calls (the least disturbed by the rest of the machine). */
function cpuMicros(work: () => unknown, runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    work();
    const used = process.cpuUsage(before);
    best = Math.min(best, used.user + used.system);
  }
  return best;
}

const repeatTo = (unit: string, length: number): string =>
  unit.repeat(Math.ceil(length / unit.length)).slice(0, length);

/** Texts that make a backtracking matcher retry from every position, for each shape the detectors read. */
const SHAPES: Record<string, string> = {
  'word characters': 'a',
  'dotted words': 'ab.',
  'local parts without @': 'abc.def+',
  'an @ with no domain': 'ab@',
  'digits and spaces': '1 ',
  'digits and dashes': '12-',
  'card-like digits': '4111 1111 1111 111',
  'IBAN-like letters': 'DE44 ',
  spaces: ' ',
  apostrophes: "it's ",
};

/** For each rule, a text made of its own words over and over: partial matches everywhere. */
function ruleShapes(): Record<string, string> {
  const shapes: Record<string, string> = {};
  [...RULES_EN, ...RULES_ZH].forEach((rule, i) => {
    const words = [...new Set(rule.pattern.source.match(/[a-z]{3,}|[\u4e00-\u9fff]{2,}/g) ?? [])].slice(0, 6);
    shapes[`rule ${i} (${rule.category})`] = `${words.join(' ')} `;
  });
  [...BENIGN, ...BENIGN_ZH].forEach((pattern, i) => {
    const words = [...new Set(pattern.source.match(/[a-z]{3,}|[\u4e00-\u9fff]{2,}/g) ?? [])].slice(0, 6);
    shapes[`benign ${i}`] = `${words.join(' ')} `;
  });
  return shapes;
}

describe('work in proportion to the input', () => {
  const SMALL = 8_000;
  const LARGE = 32_000;

  it.each(Object.entries({ ...SHAPES, ...ruleShapes() }))(
    '%s: four times the text costs well under sixteen times the CPU',
    (_name, unit) => {
      for (const [what, work] of [
        ['PII detectors', findPii],
        ['rules', (text: string) => judge({ prompt: text, response: text })],
      ] as const) {
        const small = repeatTo(unit, SMALL);
        const large = repeatTo(unit, LARGE);
        work(small); // warm up
        const largeMicros = cpuMicros(() => work(large));
        const ratio =
          largeMicros /
          Math.max(
            cpuMicros(() => work(small)),
            200,
          );
        // Linear is about 4, quadratic about 16. Below 25 ms of CPU for 32,000 characters the ratio is noise.
        expect(
          largeMicros < 25_000 || ratio < 9,
          `${what}: ${LARGE} characters cost ${ratio.toFixed(1)}× ${SMALL} (${(largeMicros / 1000).toFixed(1)} ms)`,
        ).toBe(true);
      }
    },
  );
});

describe('one request asks for bounded work, and big inputs do not hold up the others', () => {
  let instance: RunningInstance;
  beforeAll(async () => {
    instance = await startTestInstance();
  });
  afterAll(async () => instance?.shutdown());

  it('refuses a batch over the request character budget with 413 batch_too_large', async () => {
    const response = await postJson(`${instance.url}/predict`, {
      inputs: Array.from({ length: 64 }, () => ({ prompt: repeatTo('a', 15_000) })),
    });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('batch_too_large');
    const moderations = await postJson(`${instance.url}/v1/moderations`, {
      input: Array.from({ length: 20 }, () => repeatTo('ab ', 12_000)),
    });
    expect(moderations.status).toBe(413);
  });

  it('judges large inputs in worker threads: /healthz answers while they are being judged', async () => {
    const engine = instance.moderator.engine as LexiconEngine;
    const before = engine.offloaded;
    const big = {
      inputs: Array.from({ length: 40 }, (_, i) => ({
        prompt: repeatTo(`no paperwork needed to buy a gun ${i} `, 4_900),
      })),
    };
    let finished = 0;
    const load = Array.from({ length: 6 }, () => postJson(`${instance.url}/predict`, big).then((r) => (finished++, r)));
    const health = await fetch(`${instance.url}/healthz`);
    expect(health.status).toBe(200);
    expect(finished).toBeLessThan(6); // answered while the large inputs were still being judged
    const answers = await Promise.all(load);
    expect(
      answers.every(
        (a) =>
          a.status === 200 &&
          a.body.results.length === 40 &&
          a.body.results.every((r: { safety: string }) => r.safety === 'Unsafe'),
      ),
    ).toBe(true);
    expect(engine.offloaded - before).toBe(240);
  });
});
