// The words of Qwen3Guard-Gen: safety tiers, the nine risk categories, targets and policies.

/** The three safety tiers, in order of severity. */
export const SAFETY_TIERS = ['Safe', 'Controversial', 'Unsafe'] as const;
/** A safety tier. */
export type Safety = (typeof SAFETY_TIERS)[number];

/** The category strings exactly as the model writes them. */
export const CATEGORIES = [
  'Violent',
  'Non-violent Illegal Acts',
  'Sexual Content or Sexual Acts',
  'PII',
  'Suicide & Self-Harm',
  'Unethical Acts',
  'Politically Sensitive Topics',
  'Copyright Violation',
  'Jailbreak',
] as const;
/** A risk category. */
export type Category = (typeof CATEGORIES)[number];

/** `prompt` judges the user's message; `response` judges the assistant's reply to it. */
export const TARGETS = ['prompt', 'response'] as const;
/** What is judged: the prompt, or the response to it. */
export type Target = (typeof TARGETS)[number];

/** `strict` counts Controversial as flagged (the upstream eval script); `loose` does not. */
export const POLICIES = ['strict', 'loose'] as const;
/** How Controversial is read: strict flags it, loose does not. */
export type Policy = (typeof POLICIES)[number];

/** Is this value a policy (parsing input)? */
export const isPolicy = (value: unknown): value is Policy => value === 'strict' || value === 'loose';

/** Severity rank of a tier, for comparisons: Safe 0, Controversial 1, Unsafe 2. */
export const severity = (safety: Safety): number => SAFETY_TIERS.indexOf(safety);
