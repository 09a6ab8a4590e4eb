// What the lexicon's rules can read: English and Chinese. A text in any other language is not judged Safe for
// want of a matching rule: the engine says it cannot tell (degraded, language_not_covered).
import { FUNCTION_WORDS } from '../../moderation/language.js';

/** The languages the rule tables are written in (rules.ts: RULES_EN, RULES_ZH). */
export const COVERED_LANGUAGES: ReadonlySet<string> = new Set(['en', 'zh']);

/** Letters of scripts the rules cannot read: letters that are not Latin, Han, Common or Inherited. */
const OTHER_SCRIPT = /[^\P{L}\p{Script=Latin}\p{Script=Han}\p{Script=Common}\p{Script=Inherited}]/gu;
/** Letters the rules can read. */
const READABLE = /[\p{Script=Latin}\p{Script=Han}]/gu;
const NON_ASCII = /[\u0080-\uffff]/;
const WORD = /\p{L}+/gu;

/** Function words that belong to one language only ("in", "is", "was" are English and more: they tell nothing). */
const EXCLUSIVE = (() => {
  const owners = new Map<string, Set<string>>();
  for (const [language, list] of Object.entries(FUNCTION_WORDS))
    for (const word of list.split(' ')) owners.set(word, (owners.get(word) ?? new Set()).add(language));
  return new Map(
    [...owners].filter(([, languages]) => languages.size === 1).map(([word, languages]) => [word, [...languages][0]!]),
  );
})();

/** How many characters a pattern matched: what it removes (one pass, no array of matches). */
const countOf = (text: string, pattern: RegExp): number => text.length - text.replace(pattern, '').length;

/**
 * Whether the rules can read a text. Judged on the whole text, not its start: the letters of other scripts than
 * Latin and Han are under 30% of its letters, and its Latin words are not clearly another language's (function
 * words that only French, German, Spanish... use, with no English one against them). Short, odd or mixed English
 * ("Pasta carbonara recipe", "When was Angela Merkel born?") reads as covered. Pure.
 */
export function covers(text: string): boolean {
  // Plain ASCII is all Latin: only its words can say otherwise.
  if (NON_ASCII.test(text)) {
    const other = countOf(text, OTHER_SCRIPT);
    if (other > 0 && other / (other + countOf(text, READABLE)) >= 0.3) return false;
  }
  const votes = new Map<string, number>();
  let words = 0;
  for (const [word] of text.slice(0, 4_000).toLowerCase().matchAll(WORD)) {
    words++;
    const language = EXCLUSIVE.get(word);
    if (language !== undefined) votes.set(language, (votes.get(language) ?? 0) + 1);
  }
  const english = votes.get('en') ?? 0;
  const other = Math.max(
    0,
    ...[...votes].filter(([language]) => !COVERED_LANGUAGES.has(language)).map(([, count]) => count),
  );
  // Another language's own words outnumber English ones two to one (or stand alone in a sentence of four words or more).
  return !(other > 0 && other >= 2 * english && (other >= 2 || (english === 0 && words >= 4)));
}
