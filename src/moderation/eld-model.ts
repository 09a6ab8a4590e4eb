// eld's detector, fed the compact model (ngrams.ts) instead of eld's own object literal. eld exports its
// detector only with its model loaded, so the detector module is imported by its path inside the package
// (eld is pinned to the version this was checked with; the equivalence test fails on a change).
import { builtFile } from '../shared/built.js';
import { readCompactNgrams, type NgramData } from './ngrams.js';

/** The file `npm run build` writes (src/moderation/ngrams-build.ts). */
export const COMPACT_MODEL_FILE = builtFile('moderation/eld-extrasmall.ngrams');

/** Where a file of the eld package is, past its exports map (which names only the entry points). */
export const eldFile = (path: string): URL => new URL(`../${path}`, import.meta.resolve('eld/extrasmall'));

/** eld's answer for a text. */
export interface EldResult {
  language: string;
  isReliable(): boolean;
  getScores(): Record<string, number>;
}

/** eld's detector. */
export interface EldDetector {
  detect(text: string): EldResult;
}

interface EldInternals {
  createEld(): { instance: EldDetector; loadData(data: NgramData): string };
}

/** An eld detector over the given model. */
export async function eldWith(data: NgramData): Promise<EldDetector> {
  const { createEld } = (await import(eldFile('languageDetector.js').href)) as EldInternals;
  const { instance, loadData } = createEld();
  if (!loadData(data)) throw new Error('eld refused the compact n-gram model');
  return instance;
}

/** eld's detector over the compact model the build wrote (reads that file: call it at the edge). */
export const compactEld = (): Promise<EldDetector> => eldWith(readCompactNgrams(COMPACT_MODEL_FILE));
