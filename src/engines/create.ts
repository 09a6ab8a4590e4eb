// Build the configured engine.
import type { Engine } from './engine.js';
import { FallbackEngine } from './fallback.js';
import { LEXICON_DEFAULTS, LexiconEngine } from './lexicon/index.js';
import type { NgramDetector } from '../moderation/language.js';
import type { OpenAIEngineConfig } from './openai.js';
import type { LlamaCppEngineConfig } from './llamacpp.js';

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

/** The engine a configuration names. The model engines' code (an HTTP client, llama.cpp) is loaded only for them. */
export async function createEngine(config: EngineConfig, deps: EngineDeps = {}): Promise<Engine> {
  switch (config.kind) {
    case 'lexicon':
      return new LexiconEngine(LEXICON_DEFAULTS, deps.ngrams);
    case 'openai': {
      const { OpenAIEngine } = await import('./openai.js');
      const engine = new OpenAIEngine(config);
      return config.fallback === 'lexicon'
        ? new FallbackEngine(engine, new LexiconEngine(LEXICON_DEFAULTS, deps.ngrams))
        : engine;
    }
    case 'llamacpp': {
      const { LlamaCppEngine } = await import('./llamacpp.js');
      return new LlamaCppEngine(config);
    }
  }
}
