// eld's n-gram language model in a compact form. eld ships its model as one JavaScript object literal
// (49,553 n-grams, each an object of language → score); importing it costs an instance about 85 MB of RSS
// (the parse, and 30 MB of small objects kept on the heap). Here the same data is a binary file written at
// build time and read into one Map of offsets and one byte array (about 4 MB), and eld's own detector reads
// it through an object that decodes one n-gram's scores when eld asks for them: the same model, the same
// answers (a test compares them with eld's own on a multilingual corpus).
import { readFileSync, writeFileSync } from 'node:fs';

/** eld's model as eld's `loadData` takes it. */
export interface NgramData {
  type: string;
  languages: Record<number, string>;
  ngrams: Record<string, Record<number, number>>;
}

/**
 * The file: one JSON line `{type, languages}`, then each n-gram as its length (1 byte), its characters
 * (latin1: eld writes n-grams of bytes as one character each), its number of scores (1 byte) and that many
 * (language index, score) byte pairs.
 */
export function writeCompactNgrams(data: NgramData, file: string): void {
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify({ type: data.type, languages: data.languages })}\n`)];
  for (const [ngram, scores] of Object.entries(data.ngrams)) {
    const key = Buffer.from(ngram, 'latin1');
    if (key.toString('latin1') !== ngram || key.length > 255)
      throw new Error(`n-gram ${JSON.stringify(ngram)} does not fit the compact form`);
    const entries = Object.entries(scores);
    const record = Buffer.alloc(2 + key.length + entries.length * 2);
    record[0] = key.length;
    key.copy(record, 1);
    record[1 + key.length] = entries.length;
    entries.forEach(([language, score], i) => {
      if (!(Number(language) <= 255 && score >= 0 && score <= 255 && Number.isInteger(score)))
        throw new Error(`score ${language}:${score} does not fit a byte`);
      record[2 + key.length + i * 2] = Number(language);
      record[3 + key.length + i * 2] = score;
    });
    parts.push(record);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/** Read the compact file: eld's model, its n-grams decoded on demand. */
export function readCompactNgrams(file: string): NgramData {
  const bytes = readFileSync(file);
  const newline = bytes.indexOf(10);
  const { type, languages } = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as Omit<NgramData, 'ngrams'>;
  /** n-gram → offset of its (count, pairs…) in `bytes`. */
  const offsets = new Map<string, number>();
  let at = newline + 1;
  while (at < bytes.length) {
    const length = bytes[at]!;
    const ngram = bytes.toString('latin1', at + 1, at + 1 + length);
    at += 1 + length;
    offsets.set(ngram, at);
    at += 1 + bytes[at]! * 2;
  }
  const decode = (offset: number): Record<number, number> => {
    const scores: Record<number, number> = {};
    const count = bytes[offset]!;
    for (let i = 0; i < count; i++) scores[bytes[offset + 1 + i * 2]!] = bytes[offset + 2 + i * 2]!;
    return scores;
  };
  const ngrams = new Proxy({} as Record<string, Record<number, number>>, {
    get: (_target, ngram) => {
      const offset = typeof ngram === 'string' ? offsets.get(ngram) : undefined;
      return offset === undefined ? undefined : decode(offset);
    },
    has: (_target, ngram) => typeof ngram === 'string' && offsets.has(ngram),
  });
  return { type, languages, ngrams };
}
