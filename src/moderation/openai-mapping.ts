// The documented mapping from Qwen3Guard-Gen's nine categories to OpenAI's 13 moderation categories.
//
// | Qwen3Guard category            | OpenAI categories      |
// |--------------------------------|------------------------|
// | Violent                        | violence               |
// | Non-violent Illegal Acts       | illicit                |
// | Sexual Content or Sexual Acts  | sexual                 |
// | Suicide & Self-Harm            | self-harm              |
// | Unethical Acts                 | harassment, hate       |
// | PII, Politically Sensitive Topics, Copyright Violation, Jailbreak | none: OpenAI has no such category; they still set `flagged` |
//
// Qwen3Guard-Gen writes tiers, not probabilities, so a score is the tier's weight
// (Unsafe 1, Controversial 0.5, Safe 0) on the mapped categories and 0 elsewhere.
import { isFlagged } from './policy.js';
import type { Category, Policy, Safety } from './taxonomy.js';
import type { GuardOutput } from './verdict.js';

/** OpenAI's moderation categories. */
export const OPENAI_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/instructions',
  'self-harm/intent',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
/** One of them. */
export type OpenAICategory = (typeof OPENAI_CATEGORIES)[number];

/** Which OpenAI categories each Qwen3Guard category stands for. */
export const OPENAI_CATEGORY_MAP: Readonly<Record<Category, readonly OpenAICategory[]>> = {
  Violent: ['violence'],
  'Non-violent Illegal Acts': ['illicit'],
  'Sexual Content or Sexual Acts': ['sexual'],
  'Suicide & Self-Harm': ['self-harm'],
  'Unethical Acts': ['harassment', 'hate'],
  PII: [],
  'Politically Sensitive Topics': [],
  'Copyright Violation': [],
  Jailbreak: [],
};

/** The score a safety tier gives its categories. */
export const TIER_SCORE: Readonly<Record<Safety, number>> = { Safe: 0, Controversial: 0.5, Unsafe: 1 };

/** One result of /v1/moderations, as OpenAI shapes it. */
export interface OpenAIModerationResult {
  flagged: boolean;
  categories: Record<OpenAICategory, boolean>;
  category_scores: Record<OpenAICategory, number>;
  category_applied_input_types: Record<OpenAICategory, string[]>;
}

const emptyRecord = <T>(value: () => T): Record<OpenAICategory, T> =>
  Object.fromEntries(OPENAI_CATEGORIES.map((name) => [name, value()])) as Record<OpenAICategory, T>;

/** One OpenAI moderation result for one judged text. */
export function toOpenAIResult(output: GuardOutput, policy: Policy): OpenAIModerationResult {
  const flagged = isFlagged(output.safety, policy);
  const categories = emptyRecord(() => false);
  const scores = emptyRecord(() => 0);
  const applied = emptyRecord<string[]>(() => []);
  for (const category of output.categories) {
    for (const name of OPENAI_CATEGORY_MAP[category]) {
      categories[name] = flagged;
      scores[name] = TIER_SCORE[output.safety];
      applied[name] = ['text'];
    }
  }
  return { flagged, categories, category_scores: scores, category_applied_input_types: applied };
}
