// The embedded default engine: rules that answer in Qwen3Guard's format, with no download.
import type { ModerationInput } from '../../moderation/conversation.js';
import { formatGuardOutput } from '../../moderation/parse.js';
import type { EngineInfo } from '../../moderation/verdict.js';
import { fingerprintOf, type Engine, type EngineResult } from '../engine.js';
import { judge } from './judge.js';
import { BENIGN, BENIGN_ZH, RULES_EN, RULES_ZH } from './rules.js';
import { LEXICON_VERSION } from './version.js';

export class LexiconEngine implements Engine {
  readonly info: EngineInfo = {
    name: 'lexicon',
    model: 'lexicon',
    version: LEXICON_VERSION,
    fingerprint: fingerprintOf([
      'lexicon',
      LEXICON_VERSION,
      ...[...RULES_EN, ...RULES_ZH].map((r) => [r.category, r.weight, r.pattern.source]),
      ...[...BENIGN, ...BENIGN_ZH].map((r) => r.source),
    ]),
  };

  async classify(input: ModerationInput): Promise<EngineResult> {
    const output = judge(input);
    return { ...output, raw: formatGuardOutput(output), engine: this.info, degraded: false };
  }

  async close(): Promise<void> {}
}
