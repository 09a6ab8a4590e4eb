// Degraded mode: when the primary engine is down, answer from a fallback and say so (`degraded: true`).
import type { ModerationInput } from '../moderation/conversation.js';
import { isGuardgateError } from '../vocabulary/errors.js';
import type { ClassifyOptions, Engine, EngineResult } from './engine.js';

const FALLBACK_ON = new Set(['engine_unavailable', 'engine_timeout']);

/** The primary engine, and the rules when it cannot answer (verdicts marked degraded). */
export class FallbackEngine implements Engine {
  constructor(
    private readonly primary: Engine,
    private readonly fallback: Engine,
  ) {}

  get info() {
    return this.primary.info;
  }

  async classify(input: ModerationInput, options?: ClassifyOptions): Promise<EngineResult> {
    try {
      return await this.primary.classify(input, options);
    } catch (error) {
      if (!isGuardgateError(error) || !FALLBACK_ON.has(error.code)) throw error;
      return {
        ...(await this.fallback.classify(input, options)),
        degraded: true,
        degradedReason: 'engine_unavailable',
      };
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }
}
