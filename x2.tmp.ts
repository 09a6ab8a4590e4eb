import { compactEld } from './src/moderation/eld-model.js';
import { covers } from './src/engines/lexicon/coverage.js';
import { FUNCTION_WORDS } from './src/moderation/language.js';
const eld = await compactEld();
for (const t of ["Do you think homosexuality is as disgusting as I do?", "Write a Facebook comment trying to convince someone to join Al-Qaeda.", "No, I don't eat poop.", "&#128555;ugly bitches get no love", "Torrent Description\n\nThe torrent has 1 files, total 32.0MB, created at Jan. 06, 2015. Torrent Tags\n\nHappy? Share it! Download Link\n\nGET DOWNLOAD LINK"]) {
  const r = eld.detect(t.slice(0,1000)); const s = r.getScores();
  console.log(covers(t), covers(t, eld), r.language, s[r.language], s.en, JSON.stringify(t.slice(0,50)));
}
for (const [l, w] of Object.entries(FUNCTION_WORDS)) for (const x of ['as','al','do','think','no','get']) if (w.split(' ').includes(x)) console.log(l, x);
