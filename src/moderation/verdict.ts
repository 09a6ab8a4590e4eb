// The model's answer (what Qwen3Guard-Gen writes) and the verdict the service serves.
import type { Category, Policy, Safety, Target } from './taxonomy.js';

/** What the model decided, parsed from its output. */
export interface GuardOutput {
  safety: Safety;
  /** Primary category first; empty for `Categories: None`. */
  categories: Category[];
  /** Whether the assistant refused; `null` for prompt moderation. */
  refusal: boolean | null;
}

/** Who produced a verdict: enough to tell two engine versions apart. */
export interface EngineInfo {
  /** The engine implementation: `lexicon`, `openai`, `llamacpp`. */
  name: string;
  /** The model that judged, as reported to clients (`lexicon`, `Qwen/Qwen3Guard-Gen-4B`). */
  model: string;
  /** The engine's own version (rule-set version, served model revision). */
  version: string;
  /** A short digest of everything that can change a verdict (rules, model, server, settings). */
  fingerprint: string;
}

/** A verdict as served by `/predict`. */
export interface Verdict extends GuardOutput {
  trace_id: string;
  target: Target;
  flagged: boolean;
  policy: Policy;
  model: string;
  /** The deployed version of the service (what a release moves between). */
  version: string;
  color: string | null;
  language: string | null;
  latency_ms: number;
  cached: boolean;
  degraded: boolean;
  /** Why the verdict is degraded (the primary engine was down; the engine cannot read the language), or null. */
  degraded_reason: 'engine_unavailable' | 'language_not_covered' | null;
  /** Why, where the engine can say: the rules engine names the rules that matched and the context that weighed. */
  explanation: string | null;
  engine: EngineInfo;
}
