// The grammar that holds a model's output to Qwen3Guard's format, so that a verdict always parses.
import { CATEGORIES } from '../moderation/taxonomy.js';

/** What the model may write: Qwen3Guard's lines and nothing else. Jailbreak is a prompt category only. */
export function guardGrammar(target: 'prompt' | 'response'): string {
  const categories = CATEGORIES.filter((c) => target === 'prompt' || c !== 'Jailbreak').map((c) => JSON.stringify(c));
  return [
    `root ::= "Safety: " safety "\\nCategories: " categories${target === 'response' ? ' "\\nRefusal: " ("Yes" | "No")' : ''}`,
    'safety ::= "Safe" | "Unsafe" | "Controversial"',
    'categories ::= "None" | category (", " category)?',
    `category ::= ${categories.join(' | ')}`,
  ].join('\n');
}
