// The embedded default engine: rules that answer in Qwen3Guard's format, with no download.
import { formatGuardOutput } from '../../moderation/parse.js';
import type { EngineInfo } from '../../moderation/verdict.js';
import { fingerprintOf, type Engine, type EngineResult } from '../engine.js';
import { judgedText, type ModerationInput } from '../../moderation/conversation.js';
import { COVERED_LANGUAGES, covers } from './coverage.js';
import { judge } from './judge.js';
import { BENIGN, BENIGN_ZH, RULES_EN, RULES_ZH } from './rules.js';
import { LEXICON_VERSION } from './version.js';
import { JudgeWorkers } from './workers.js';
import { mayHoldPhoneNumbers } from '../../moderation/pii.js';
import type { NgramDetector } from '../../moderation/language.js';

/** How the rules engine offloads long inputs. */
export interface LexiconOptions {
  /** Inputs longer than this (prompt and response, in characters) are judged in a worker thread. */
  offloadChars: number;
  /** Worker threads at most. */
  workers: number;
  /** Inputs waiting per thread at most; more are refused with engine_busy. */
  maxQueued: number;
}

/** Its defaults. */
export const LEXICON_DEFAULTS: LexiconOptions = { offloadChars: 2_000, workers: 2, maxQueued: 256 };

/** The embedded rules: no download, linear time, and honest about what they cannot read. */
export class LexiconEngine implements Engine {
  private readonly workers: JudgeWorkers;

  /**
   * @param ngrams the language detector the instance ships (`compactEld()`): with it, Latin-script text in a
   * language the rules do not read (Swahili, Javanese, Indonesian…) is told apart from English; without it, only
   * scripts and function words tell.
   */
  constructor(
    private readonly options: LexiconOptions = LEXICON_DEFAULTS,
    private readonly ngrams?: NgramDetector,
  ) {
    this.workers = new JudgeWorkers(options.workers, options.maxQueued);
  }

  /** Inputs judged off the request thread so far. */
  get offloaded(): number {
    return this.workers.offloaded;
  }

  readonly info: EngineInfo = {
    name: 'lexicon',
    model: 'lexicon',
    version: LEXICON_VERSION,
    fingerprint: fingerprintOf([
      'lexicon',
      LEXICON_VERSION,
      [...COVERED_LANGUAGES],
      ...[...RULES_EN, ...RULES_ZH].map((r) => [r.category, r.weight, r.pattern.source]),
      ...[...BENIGN, ...BENIGN_ZH].map((r) => r.source),
    ]),
  };

  /** Small inputs inline (a fraction of a millisecond); large ones in a worker thread, so that no input holds up the others. */
  async classify(input: ModerationInput): Promise<EngineResult> {
    const output = this.options.workers > 0 && this.costly(input) ? await this.workers.judge(input) : judge(input);
    // A rule that matched is evidence in any language; no match in a language the rules cannot read is none.
    if (output.safety !== 'Unsafe') {
      if (!covers(judgedText(input), this.ngrams)) {
        // A topic rule that matched (Controversial) keeps its categories.
        const unknown = {
          ...output,
          safety: 'Controversial' as const,
          categories: output.safety === 'Controversial' ? output.categories : [],
          explanation: `the rules cannot read this language (${output.explanation})`,
        };
        return {
          ...unknown,
          raw: formatGuardOutput(unknown),
          engine: this.info,
          degraded: true,
          degradedReason: 'language_not_covered',
        };
      }
    }
    return { ...output, raw: formatGuardOutput(output), engine: this.info, degraded: false };
  }

  /** Long inputs, and digit-heavy ones (the phone parser costs about half a millisecond a number), go to a thread. */
  private costly(input: ModerationInput): boolean {
    const chars = input.prompt.length + (input.response?.length ?? 0);
    if (chars > this.options.offloadChars) return true;
    return (
      chars > 200 &&
      (mayHoldPhoneNumbers(input.prompt) || (input.response !== undefined && mayHoldPhoneNumbers(input.response)))
    );
  }

  async close(): Promise<void> {
    await this.workers.close();
  }
}
