// Build step (`npm run build`): write eld's extra-small model in the compact form the instances load.
import { COMPACT_MODEL_FILE, eldFile } from './eld-model.js';
import { writeCompactNgrams, type NgramData } from './ngrams.js';

const { ngramsData } = (await import(eldFile('ngrams/extrasmall.js').href)) as { ngramsData: NgramData };
writeCompactNgrams(ngramsData, COMPACT_MODEL_FILE);
