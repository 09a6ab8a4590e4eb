// The stores' cost and worth, each measured against a baseline in the same run:
//  1. cache: throughput against a slow engine (a fake server answering in 20 ms) when every request hits
//     the cache, against when every request misses (cache off);
//  2. audit: throughput of the lexicon instance with the SQLite audit sink, against without it; and the journal
//     (each record written before its verdict is answered, group-committed; with and without fdatasync) against
//     the sink without the journal.
// Run (after npm run build): npx tsx bench/stores.ts [--seconds 6] [--connections 32]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureLoad, type LoadFigures } from '../src/gates/load.js';
import { argValue, startServerProcess } from './load.js';

const seconds = argValue('seconds', 6);
const connections = argValue('connections', 32);
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const body = JSON.stringify({ prompt: 'Tell me a story about a dragon who learns to cook.' });

/** Start `guardgate serve` with these environment variables; resolve its URL. */
async function serve(env: Record<string, string>, config = ''): Promise<{ url: string; stop: () => void }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'guardgate-bench-'));
  writeFileSync(join(dataDir, 'instance.yaml'), config);
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--config',
      join(dataDir, 'instance.yaml'),
      '--log-level',
      'info',
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"([^"]+)","engine".*"msg":"guardgate instance listening"/.exec(out);
      if (match && out.includes('engine warmed up; ready')) resolve(match[1]!);
    });
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function measure(name: string, env: Record<string, string>, config = ''): Promise<LoadFigures> {
  const server = await serve(env, config);
  await measureLoad(server.url, { bodies: [body], connections, durationSeconds: 1 }); // warm up (and fill the cache)
  const figures = await measureLoad(server.url, { bodies: [body], connections, durationSeconds: seconds });
  server.stop();
  console.log(
    `${name.padEnd(28)} ${figures.qps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms  failed ${figures.failed}`,
  );
  return figures;
}

const engine = await startServerProcess(fileURLToPath(new URL('./fixtures/slow-engine.ts', import.meta.url)), []);
try {
  const openai = { GUARDGATE_ENGINE: 'openai', GUARDGATE_ENGINE_URL: engine.url, GUARDGATE_AUDIT_SINK: 'none' };
  const miss = await measure('20 ms engine, no cache', { ...openai, GUARDGATE_CACHE: 'none' });
  const hit = await measure('20 ms engine, cache hits', { ...openai, GUARDGATE_CACHE: 'memory' });
  console.log(
    `cache: hit/miss throughput ${(hit.qps / miss.qps).toFixed(1)}x, p99 ${(hit.p99 / miss.p99).toFixed(2)}\n`,
  );
  const without = await measure('lexicon, no audit sink', { GUARDGATE_AUDIT_SINK: 'none', GUARDGATE_CACHE: 'none' });
  const sqlite = { GUARDGATE_AUDIT_SINK: 'sqlite', GUARDGATE_CACHE: 'none' };
  const unjournaled = await measure('SQLite sink, no journal', sqlite, 'audit: { journal: false }\n');
  const journaled = await measure('SQLite sink, journal', sqlite);
  const synced = await measure('SQLite sink, journal+fsync', sqlite, 'audit: { fsync: true }\n');
  console.log(
    `audit: throughput with/without the sink (no journal) ${(unjournaled.qps / without.qps).toFixed(2)}, p99 ${(unjournaled.p99 / without.p99).toFixed(2)}`,
  );
  console.log(
    `journal: throughput with/without ${(journaled.qps / unjournaled.qps).toFixed(2)}, p99 ${(journaled.p99 / unjournaled.p99).toFixed(2)}; with fdatasync ${(synced.qps / unjournaled.qps).toFixed(2)}, p99 ${(synced.p99 / unjournaled.p99).toFixed(2)}`,
  );
} finally {
  await engine.stop();
}
