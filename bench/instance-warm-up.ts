// A fresh instance against a warm one, second by second, beside busy loops: what a request costs each process in
// CPU (its /metrics), and the fresh one's QPS and p99 as a ratio of the warm one's, in alternating one-second
// slices (as the load gate measures). It shows how many requests a freshly started process needs before it is at
// its pace, which the load gate's warm-up has to cover (src/gates/load.ts, `warmedUp`).
// Run: npm run build && npx tsx bench/instance-warm-up.ts [--busy 8] [--slices 16] [--connections 8]
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCpuSeconds, cpuMsPerRequest } from '../src/gates/instance-cpu.js';
import { measureLoad, WARM_UP_CPU_TOLERANCE, type LoadFigures } from '../src/gates/load.js';
import { argValue, ready, startPrintingUrl } from './load.js';

const busy = argValue('busy', 8);
const slices = argValue('slices', 16);
const connections = argValue('connections', 8);
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

const loops = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const serve = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'guardgate-warm-up-'));
  const started = await startPrintingUrl([cli, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info']);
  await ready(started.url, '/readyz');
  return started;
};
/** One second of load, with the CPU the instance spent on it. */
const slice = async (url: string): Promise<LoadFigures & { cpu: number }> => {
  const before = await readCpuSeconds(url, {});
  const figures = await measureLoad(url, { durationSeconds: 1, connections });
  return { ...figures, cpu: cpuMsPerRequest(before, await readCpuSeconds(url, {}), figures.requests) ?? Number.NaN };
};

const warm = await serve();
let fresh: Awaited<ReturnType<typeof serve>> | undefined;
try {
  const warmUp = await measureLoad(warm.url, { durationSeconds: 20, connections });
  console.log(
    `${busy} busy loops; the warm instance answered ${warmUp.requests} requests in 20 s before the fresh one started`,
  );
  fresh = await serve();
  console.log('fresh requests so far | CPU ms per request fresh / warm (ratio) | QPS ratio | p99 fresh / warm');
  let answered = 0;
  let atPace: number | undefined;
  for (let i = 0; i < slices; i++) {
    // A B, B A, ...: whatever the machine does meanwhile falls on both alike.
    const [first, second] = i % 2 === 0 ? [fresh.url, warm.url] : [warm.url, fresh.url];
    const a = await slice(first);
    const b = await slice(second);
    const [f, w] = first === fresh.url ? [a, b] : [b, a];
    answered += f.requests;
    const ratio = f.cpu / w.cpu;
    if (atPace === undefined && ratio <= 1 + WARM_UP_CPU_TOLERANCE) atPace = answered;
    console.log(
      `${String(answered).padStart(6)} | ${f.cpu.toFixed(2)} / ${w.cpu.toFixed(2)} (${ratio.toFixed(2)}) | ${(f.qps / w.qps).toFixed(2)} | ${f.p99} / ${w.p99} ms`,
    );
  }
  console.log(
    atPace === undefined
      ? `the fresh instance never came within ${100 * WARM_UP_CPU_TOLERANCE}% of the warm one's CPU per request`
      : `the fresh instance first came within ${100 * WARM_UP_CPU_TOLERANCE}% of the warm one's CPU per request after ${atPace} requests`,
  );
} finally {
  for (const child of [warm.child, fresh?.child, ...loops]) child?.kill('SIGKILL');
}
