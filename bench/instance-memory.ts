// Instance memory: RSS of a real lexicon instance (`guardgate serve`, SQLite audit log, the default) at rest
// and under a varied load, against a bare Node.js HTTP server in the same run (the floor any Node server
// pays). Goal: at most 150 MB at rest.
// Run: npm run build && npx tsx bench/instance-memory.ts [--seconds 60] [--connections 16]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_CORPUS, measureLoad } from '../src/gates/load.js';
import { argValue, ready, startPrintingUrl as start } from './load.js';

const seconds = argValue('seconds', 60);
const connections = argValue('connections', 16);
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Varied texts (the load corpus, each with a numbered variation): most requests miss the verdict cache. */
const bodies = Array.from({ length: 2_000 }, (_, i) => {
  const item = JSON.parse(LOAD_CORPUS[i % LOAD_CORPUS.length]!) as { prompt: string; response?: string };
  return JSON.stringify({ ...item, prompt: `${item.prompt} (question ${i})` });
});

const bare = await start([
  '-e',
  "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log('http://127.0.0.1:' + this.address().port) })",
]);
const instance = await start([
  cli,
  'serve',
  '--port',
  '0',
  '--data-dir',
  mkdtempSync(join(tmpdir(), 'guardgate-memory-')),
  '--log-level',
  'info',
]);
try {
  await ready(instance.url, '/readyz');
  await ready(bare.url, '/');
  const floor = rssMb(bare.child.pid!);
  const atRest = rssMb(instance.child.pid!);
  console.log(
    `at rest: instance ${atRest.toFixed(1)} MB, bare Node.js server ${floor.toFixed(1)} MB, instance over the floor ${(atRest - floor).toFixed(1)} MB (goal: instance <= 150 MB)`,
  );
  let peak = atRest;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(instance.child.pid!))), 500);
  const load = await measureLoad(instance.url, { bodies, connections, durationSeconds: seconds });
  clearInterval(sampler);
  const after = rssMb(instance.child.pid!);
  console.log(
    `load: ${seconds} s, ${connections} connections, ${load.requests} verdicts (${load.qps.toFixed(0)}/s), failed ${load.failed}`,
  );
  console.log(
    `under load: peak ${peak.toFixed(1)} MB; right after ${after.toFixed(1)} MB; ratio after/at rest ${(after / atRest).toFixed(2)}`,
  );
} finally {
  instance.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
}
