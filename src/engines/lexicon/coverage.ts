// What the lexicon's rules can read: English and Chinese. A text in any other language is not judged Safe for
// want of a matching rule: the engine says it cannot tell (degraded, language_not_covered).
import { ENGLISH_WORDS, FUNCTION_WORDS, type NgramDetector } from '../../moderation/language.js';

/** The languages the rule tables are written in (rules.ts: RULES_EN, RULES_ZH). */
export const COVERED_LANGUAGES: ReadonlySet<string> = new Set(['en', 'zh']);

/** Letters of scripts the rules cannot read: letters that are not Latin, Han, Common or Inherited. */
const OTHER_SCRIPT = /[^\P{L}\p{Script=Latin}\p{Script=Han}\p{Script=Common}\p{Script=Inherited}]/gu;
/** Letters the rules can read. */
const READABLE = /[\p{Script=Latin}\p{Script=Han}]/gu;
const NON_ASCII = /[\u0080-\uffff]/;
const WORD = /\p{L}+/gu;
const LATIN_WORD = /^\p{Script=Latin}+$/u;
/** A token that is markup or data, not a word of prose: digits, URL, tag or escape characters. */
const MARKUP = /[\d%/\\=_@#&{}<>|~^$*+]/;

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
 * How far another language's n-gram score must be above English's (as a share of the top score) to say a
 * Latin-script text is not English: English text the detector names otherwise (names, slang, lists) stays within
 * 0.1 on the dev sets, Swahili and Javanese are mostly far beyond (dev: 90% of them above 0.26). Short texts
 * need a wider margin: the fewer the letters, the noisier the n-grams.
 */
const NGRAM_MARGIN = 0.15;
const SHORT_NGRAM_MARGIN = 0.3;
/** Latin letters from which a text counts as long enough for the narrower margin. */
const LONG_LETTERS = 20;
/** Latin letters below which the n-grams are not asked at all. */
const MIN_LETTERS = 8;
/** Words a text needs before the n-grams may call it another language. */
const MIN_WORDS = 4;
/** A text with this share of English function words is (also) English, whatever the n-grams say. */
const ENGLISH_SHARE = 0.2;

/**
 * Whether the rules can read a text. Judged on the whole text, not its start: the letters of other scripts than
 * Latin and Han are under 30% of its letters; and its Latin words are English as far as the n-gram detector
 * (given) can tell, else by function words. The detector says English: covered (English words that other
 * languages also use, "as", "no", do not outvote it). It places the text in a language the rules do not read by
 * a clear margin over English, with few English function words (Swahili, Javanese, Indonesian, Tagalog,
 * Vietnamese without its diacritics): not covered. Otherwise function words decide: those only French, German,
 * Spanish… use, with no English one against them, mean not covered. Short, odd or mixed English ("Pasta
 * carbonara recipe", "When was Angela Merkel born?"), markup and code read as covered. Pure.
 */
export function covers(text: string, ngrams?: NgramDetector): boolean {
  // Plain ASCII is all Latin: only its words can say otherwise.
  if (NON_ASCII.test(text)) {
    const other = countOf(text, OTHER_SCRIPT);
    if (other > 0 && other / (other + countOf(text, READABLE)) >= 0.3) return false;
  }
  // Prose only: tokens with digits or markup characters (URLs, tags, hashes, escapes) say nothing of a language.
  const prose = text
    .slice(0, 4_000)
    .split(/\s+/)
    .filter((token) => !MARKUP.test(token))
    .join(' ');
  const votes = new Map<string, number>();
  let words = 0;
  let englishWords = 0;
  let latinLetters = 0;
  let singleLetters = 0;
  for (const [word] of prose.toLowerCase().matchAll(WORD)) {
    words++;
    if (word.length === 1) singleLetters++;
    if (ENGLISH_WORDS.has(word)) englishWords++;
    // Letters of words, not of stray single letters ("ec2 S fb t 5 r a").
    if (word.length >= 3 && LATIN_WORD.test(word)) latinLetters += word.length;
    const language = EXCLUSIVE.get(word);
    if (language !== undefined) votes.set(language, (votes.get(language) ?? 0) + 1);
  }
  // Mostly stray letters (hashes, codes, spelled-out strings) are no language at all.
  if (words >= 4 && singleLetters * 2 > words) return true;
  if (ngrams !== undefined && latinLetters >= MIN_LETTERS) {
    // Three words or fewer ("Pasta carbonara recipe", "Volkswagen Golf Diesel") may say English only.
    const said = ngramsSay(
      ngrams,
      prose.slice(0, 1_000),
      latinLetters >= LONG_LETTERS ? NGRAM_MARGIN : SHORT_NGRAM_MARGIN,
    );
    if (said === 'covered') return true;
    if (said === 'other' && words >= MIN_WORDS && englishWords < ENGLISH_SHARE * words) return false;
  }
  const english = votes.get('en') ?? 0;
  const other = Math.max(
    0,
    ...[...votes].filter(([language]) => !COVERED_LANGUAGES.has(language)).map(([, count]) => count),
  );
  // Another language's own words outnumber English ones two to one (or stand alone in a sentence of four words or more).
  return !(other > 0 && other >= 2 * english && (other >= 2 || (english === 0 && words >= 4)));
}

/**
 * What the n-gram detector says: a language the rules read (`covered`), another one by `margin` over English
 * (`other`), or nothing clear.
 */
function ngramsSay(ngrams: NgramDetector, sample: string, margin: number): 'covered' | 'other' | 'unclear' {
  const result = ngrams.detect(sample);
  if (!result.language) return 'unclear';
  if (COVERED_LANGUAGES.has(result.language)) return 'covered';
  const scores = result.getScores?.();
  if (scores === undefined) return result.isReliable() ? 'other' : 'unclear';
  const top = scores[result.language] ?? 0;
  return top > 0 && (top - (scores.en ?? 0)) / top >= margin ? 'other' : 'unclear';
}
