// Build the configured engine.
import type { Engine } from './engine.js';
import { FallbackEngine } from './fallback.js';
import { LexiconEngine } from './lexicon/index.js';
import { OpenAIEngine, type OpenAIEngineConfig } from './openai.js';
import { LlamaCppEngine, type LlamaCppEngineConfig } from './llamacpp.js';

/** An engine's resolved configuration. */
export type EngineConfig =
  | { kind: 'lexicon' }
  | ({ kind: 'openai'; fallback: 'none' | 'lexicon' } & OpenAIEngineConfig)
  | ({ kind: 'llamacpp' } & LlamaCppEngineConfig);

/** The engine a configuration names. */
export function createEngine(config: EngineConfig): Engine {
  switch (config.kind) {
    case 'lexicon':
      return new LexiconEngine();
    case 'openai': {
      const engine = new OpenAIEngine(config);
      return config.fallback === 'lexicon' ? new FallbackEngine(engine, new LexiconEngine()) : engine;
    }
    case 'llamacpp':
      return new LlamaCppEngine(config);
  }
}
