import { judgeAll } from './bench/lexicon-figures.js';
const all = await judgeAll(process.argv.slice(2));
for (const [set, splits] of all) for (const j of splits.get('dev')!) {
  if (set.startsWith('multijail_') && set !== 'multijail_en' && set !== 'multijail_zh') { if (j.safety === 'Safe' && !j.degraded) console.log(set, 'CONF-SAFE', JSON.stringify(j.item.prompt.slice(0,160))); }
  else if (j.degraded) console.log(set, 'DEGRADED', JSON.stringify(j.item.prompt.slice(0,160)));
}
