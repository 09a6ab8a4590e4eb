// Build the configured engine.
import type { Engine } from './engine.js';
import { FallbackEngine } from './fallback.js';
import { LEXICON_DEFAULTS, LexiconEngine } from './lexicon/index.js';
import type { NgramDetector } from '../moderation/language.js';
import { OpenAIEngine, type OpenAIEngineConfig } from './openai.js';
import { LlamaCppEngine, type LlamaCppEngineConfig } from './llamacpp.js';

/** An engine's resolved configuration. */
export type EngineConfig =
  | { kind: 'lexicon' }
  | ({ kind: 'openai'; fallback: 'none' | 'lexicon' } & OpenAIEngineConfig)
  | ({ kind: 'llamacpp' } & LlamaCppEngineConfig);

/** What engines may use besides their configuration, loaded at the edge. */
export interface EngineDeps {
  /** The language detector the instance ships: the rules engine tells the languages it cannot read with it. */
  ngrams?: NgramDetector;
}

/** The engine a configuration names. */
export function createEngine(config: EngineConfig, deps: EngineDeps = {}): Engine {
  switch (config.kind) {
    case 'lexicon':
      return new LexiconEngine(LEXICON_DEFAULTS, deps.ngrams);
    case 'openai': {
      const engine = new OpenAIEngine(config);
      return config.fallback === 'lexicon'
        ? new FallbackEngine(engine, new LexiconEngine(LEXICON_DEFAULTS, deps.ngrams))
        : engine;
    }
    case 'llamacpp':
      return new LlamaCppEngine(config);
  }
}
