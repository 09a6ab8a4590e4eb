// The engine contract: what turns a prompt (and optionally a response) into a Qwen3Guard verdict.
import { createHash } from 'node:crypto';
import type { ModerationInput } from '../moderation/conversation.js';
import type { EngineInfo, GuardOutput } from '../moderation/verdict.js';

/** An engine's verdict, its raw output, who gave it, and whether it is degraded. */
export interface EngineResult extends GuardOutput {
  /** The text the model (or the rules) wrote, in Qwen3Guard's format. */
  raw: string;
  /** Who answered; differs from the engine's own info when a fallback answered. */
  engine: EngineInfo;
  /** True when the verdict is weaker than the engine's own: a fallback answered, or the text is outside what it reads. */
  degraded: boolean;
  degradedReason?: DegradedReason | undefined;
  /** Why, in the engine's words, where it can say (the rules engine names the rules that matched). */
  explanation?: string | undefined;
  /** Tokens read and written, where the engine knows them (for traces). */
  usage?: { promptTokens: number; completionTokens: number } | undefined;
}

/** Why a verdict is degraded: the primary engine was down (a fallback answered), or the engine cannot read the language. */
export type DegradedReason = 'engine_unavailable' | 'language_not_covered';

/** What a classify call is given besides the input. */
export interface ClassifyOptions {
  signal?: AbortSignal;
  /** The W3C traceparent of the engine's span, for engines that call a server (it continues the trace). */
  traceparent?: string;
}

/**
 * One way to judge text. Implementations: `lexicon` (embedded rules), `openai` (a vLLM/SGLang server).
 * Errors are {@link GuardgateError}s: `engine_unavailable`, `engine_timeout`, `engine_invalid_output`, `text_too_long`.
 */
export interface Engine {
  readonly info: EngineInfo;
  classify(input: ModerationInput, options?: ClassifyOptions): Promise<EngineResult>;
  close(): Promise<void>;
  /** How the engine runs, for the log line when the instance is ready (threads, prompt template, …). */
  describe?(): Record<string, unknown>;
}

/** A short, stable digest of everything that can change an engine's verdicts. */
export function fingerprintOf(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}
