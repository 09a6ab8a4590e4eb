// Which language a text is in (ISO 639-1), for the verdict and the audit log. It runs on every request,
// so it takes fast paths first: the writing system when it names one language, then the function words
// of common Latin-script languages; only ambiguous text goes to the n-gram detector (eld), which the caller
// gives (its model is a built file: the edge loads it, `compactEld()`; this module reads no file).

/** The n-gram detector's answer for a text. */
export interface NgramDetector {
  detect(text: string): { language: string; isReliable(): boolean; getScores?(): Record<string, number> };
}

/** Look at the start of a text only: enough to tell the language, cheap on long inputs. */
const SAMPLE_CHARS = 400;

/** The most frequent function words of each language; a word shared by two languages votes for both. */
export const FUNCTION_WORDS: Record<string, string> = {
  en: 'the a and is are was were of to in that it for you with on this how what do does can i my me be have not or your we they about who tell please why when where which there their would could should will from by at an if but all any some into than then them these those has had been its our us he she his her him',
  fr: 'le la les des est et une un du que qui pour dans pas ce il je vous nous avec sur au sont comment mon',
  de: 'der die das und ist nicht ein eine ich du wie was zu mit den dem sich auf für es sind wir ihr mein',
  es: 'el la los las es y un una de que en por para con no cómo como qué se lo mi está son yo',
  it: 'il lo la gli le è e un una di che per non con come sono mi io del della questo',
  pt: 'o a os as é e um uma de que em para com não como se eu meu está são do da você',
  nl: 'de het een en is niet van ik je dat wat hoe met op voor zijn wij mijn er',
  id: 'yang dan di ini itu dengan untuk tidak saya apa bagaimana ada dari ke kamu',
  tr: 've bir bu da de ne nasıl için ile ben sen mi değil çok',
  pl: 'i w nie na się jest że to jak co z do ja czy mój',
  sv: 'och att det är en som på inte jag hur vad med för har',
  vi: 'và là của có không tôi bạn một những được này như',
};

/** English function words: text with a few of them is (also) English, whatever the detector settled on. */
export const ENGLISH_WORDS: ReadonlySet<string> = new Set(FUNCTION_WORDS.en!.split(' '));

const WORD_LANGUAGES = new Map<string, string[]>();
for (const [language, list] of Object.entries(FUNCTION_WORDS)) {
  for (const word of list.split(' ')) WORD_LANGUAGES.set(word, [...(WORD_LANGUAGES.get(word) ?? []), language]);
}

/** Scripts that name one language. */
const SCRIPTS: ReadonlyArray<[RegExp, string]> = [
  [/[\p{Script=Hiragana}\p{Script=Katakana}]/u, 'ja'], // kana before Han: Japanese writes both (not the middle dot ・ Chinese uses too)
  [/[\uac00-\ud7af\u1100-\u11ff]/, 'ko'],
  [/[\u4e00-\u9fff\u3400-\u4dbf]/, 'zh'],
  [/[\u0e00-\u0e7f]/, 'th'],
  [/[\u0590-\u05ff]/, 'he'],
  [/[\u0370-\u03ff]/, 'el'],
  [/[\u0900-\u097f]/, 'hi'],
  [/[\u10a0-\u10ff]/, 'ka'],
  [/[\u0530-\u058f]/, 'hy'],
];
const NON_LATIN_LETTER = /[^\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}]/u;
const WORD = /\p{L}+/gu;

function byFunctionWords(sample: string): string | null {
  const votes = new Map<string, number>();
  let words = 0;
  for (const match of sample.toLowerCase().matchAll(WORD)) {
    words++;
    for (const language of WORD_LANGUAGES.get(match[0]) ?? []) votes.set(language, (votes.get(language) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestVotes = 0;
  let second = 0;
  for (const [language, count] of votes) {
    if (count > bestVotes) [second, bestVotes, best] = [bestVotes, count, language];
    else if (count > second) second = count;
  }
  // A clear majority of at least two function words, and a fifth of the words.
  return bestVotes >= 2 && bestVotes >= second + 2 && bestVotes * 5 >= words ? best : null;
}

/**
 * A language detector over an n-gram detector: the detected language code, or null when the text is too short or
 * ambiguous to tell.
 */
export function languageDetector(ngrams: NgramDetector): (text: string) => string | null {
  const byNgrams = (sample: string): string | null => {
    const result = ngrams.detect(sample);
    return result.language && result.isReliable() ? result.language : null;
  };
  return (text) => {
    const sample = text.length > SAMPLE_CHARS ? text.slice(0, SAMPLE_CHARS) : text;
    if (NON_LATIN_LETTER.test(sample)) {
      for (const [script, language] of SCRIPTS) if (script.test(sample)) return language;
      return byNgrams(sample);
    }
    return byFunctionWords(sample) ?? byNgrams(sample);
  };
}
