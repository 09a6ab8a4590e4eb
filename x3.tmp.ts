import { compactEld } from './src/moderation/eld-model.js';
import { DATASETS } from './bench/datasets.js';
const eld = await compactEld();
for (const it of DATASETS.openai_moderation!()) if (/^Torrent Description|^\(16\) <URL>|^ec2 S fb/.test(it.prompt)) {
  const r = eld.detect(it.prompt.slice(0, 1000)); const s = r.getScores();
  console.log(r.language, s[r.language]?.toFixed(3), s.en?.toFixed(3), JSON.stringify(it.prompt.slice(0, 600)));
}
