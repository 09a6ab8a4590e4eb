// Reading Qwen3Guard-Gen's output ("Safety: …\nCategories: …\nRefusal: …") tolerantly, failing loudly
// only when there is no Safety line at all.
import { GuardgateError } from '../vocabulary/errors.js';
import { CATEGORIES, type Category, type Safety, type Target } from './taxonomy.js';
import type { GuardOutput } from './verdict.js';

const SAFETY_LINE = /safety\s*[:：]\s*(safe|unsafe|controversial)\b/i;
const CATEGORIES_LINE = /categor(?:y|ies)\s*[:：]\s*([^\n\r]*)/i;
const REFUSAL_LINE = /refusal\s*[:：]\s*(yes|no)\b/i;

/** Spellings seen in the policy text and in older parsers, mapped to what the model writes. */
const CATEGORY_ALIASES: Record<string, Category> = {
  'personally identifiable information': 'PII',
  violence: 'Violent',
  'sexual content': 'Sexual Content or Sexual Acts',
  'suicide and self-harm': 'Suicide & Self-Harm',
  'self-harm': 'Suicide & Self-Harm',
  'politically sensitive': 'Politically Sensitive Topics',
  copyright: 'Copyright Violation',
};

const BY_LOWER_NAME = new Map<string, Category>([
  ...CATEGORIES.map((name) => [name.toLowerCase(), name] as [string, Category]),
  ...Object.entries(CATEGORY_ALIASES),
]);

const capitalise = (word: string): Safety => (word[0]!.toUpperCase() + word.slice(1).toLowerCase()) as Safety;

/** Category names from a `Categories:` value; `None` and unknown names are dropped. */
export function parseCategoryList(value: string): Category[] {
  const found: Category[] = [];
  // The names themselves contain no commas, so a comma (or semicolon) separates them.
  for (const part of value.split(/[,;、，]/)) {
    const category = BY_LOWER_NAME.get(part.trim().replace(/\.$/, '').toLowerCase());
    if (category !== undefined && !found.includes(category)) found.push(category);
  }
  return found;
}

/**
 * Parse the model's text into a {@link GuardOutput}.
 * Extra lines, spacing, case and line order are tolerated; a missing Safety line is an
 * `engine_invalid_output` error, never a guess.
 * @example parseGuardOutput('Safety: Unsafe\nCategories: Violent', 'prompt')
 */
export function parseGuardOutput(text: string, target: Target): GuardOutput {
  const safety = SAFETY_LINE.exec(text);
  if (safety === null) {
    throw new GuardgateError(
      'engine_invalid_output',
      `model output has no Safety line: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  const categoriesLine = CATEGORIES_LINE.exec(text);
  const refusal = REFUSAL_LINE.exec(text);
  return {
    safety: capitalise(safety[1]!),
    categories: categoriesLine === null ? [] : parseCategoryList(categoriesLine[1]!),
    refusal: target === 'response' && refusal !== null ? refusal[1]!.toLowerCase() === 'yes' : null,
  };
}

/** Write a verdict in the model's own format (what the lexicon engine answers with). */
export function formatGuardOutput(output: GuardOutput): string {
  const lines = [
    `Safety: ${output.safety}`,
    `Categories: ${output.categories.length === 0 ? 'None' : output.categories.join(', ')}`,
  ];
  if (output.refusal !== null) lines.push(`Refusal: ${output.refusal ? 'Yes' : 'No'}`);
  return lines.join('\n');
}
