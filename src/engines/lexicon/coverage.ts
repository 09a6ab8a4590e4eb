// What the lexicon's rules can read: English and Chinese. A text in any other language is not judged Safe for
// want of a matching rule: the engine says it cannot tell (degraded, language_not_covered).
import { ENGLISH_WORDS } from '../../moderation/language.js';

/** The languages the rule tables are written in (rules.ts: RULES_EN, RULES_ZH). */
export const COVERED_LANGUAGES: ReadonlySet<string> = new Set(['en', 'zh']);

const LETTER = /\p{L}/gu;
const COVERED_SCRIPT = /[\p{Script=Latin}\p{Script=Han}]/u;
const WORD = /\p{L}+/gu;

/** Two English function words or more in the first 400 characters: the English rules have something to read. */
function readsAsEnglish(text: string): boolean {
  let found = 0;
  for (const [word] of text.slice(0, 400).toLowerCase().matchAll(WORD)) if (ENGLISH_WORDS.has(word) && ++found >= 2) return true;
  return false;
}

/**
 * Whether the rules can read a text in `language` (ISO 639-1, or null when the detector could not tell). Text
 * with English function words is read too, whatever the detector said ("When was Angela Merkel born?" reads as
 * German to it).
 * Undetected text is covered when most of its letters are Latin or Han (short replies like "ok", code, names),
 * not when they are in another script (a short Arabic or Bengali text the detector left undecided). Pure.
 */
export function covers(text: string, language: string | null): boolean {
  if (language !== null) return COVERED_LANGUAGES.has(language) || readsAsEnglish(text);
  let letters = 0;
  let covered = 0;
  for (const [letter] of text.slice(0, 400).matchAll(LETTER)) {
    letters++;
    if (COVERED_SCRIPT.test(letter)) covered++;
  }
  return covered * 2 >= letters;
}
