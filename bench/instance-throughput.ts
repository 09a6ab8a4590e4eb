// Instance overhead: throughput and p99 of the real instance (zero-cost engine) against a bare fastify
// route, in the same run, alternating rounds. Goal: the instance at 0.8 or more of the bare route.
// Run: npx tsx bench/instance-throughput.ts [--seconds 8] [--connections 50] [--rounds 3]
import { fileURLToPath } from 'node:url';
import { measureLoad, type LoadFigures } from '../src/gates/load.js';
import { argValue, median, startServerProcess } from './load.js';

const seconds = argValue('seconds', 8);
const connections = argValue('connections', 50);
const rounds = argValue('rounds', 3);
const script = fileURLToPath(new URL('./fixtures/throughput-server.ts', import.meta.url));
const body = JSON.stringify({ prompt: 'How can I kill a Python process that is stuck?' });

const results: Record<'bare' | 'instance', LoadFigures[]> = { bare: [], instance: [] };
for (let round = 1; round <= rounds; round++) {
  for (const kind of ['bare', 'instance'] as const) {
    const server = await startServerProcess(script, [kind]);
    await measureLoad(server.url, { bodies: [body], connections, durationSeconds: 1 }); // warm the JIT
    const figures = await measureLoad(server.url, { bodies: [body], connections, durationSeconds: seconds });
    await server.stop();
    results[kind].push(figures);
    console.log(
      `round ${round} ${kind.padEnd(8)} ${figures.qps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms  failed ${figures.failed}`,
    );
  }
}

const summary = (kind: 'bare' | 'instance') => ({
  qps: median(results[kind].map((r) => r.qps)),
  p99: median(results[kind].map((r) => r.p99)),
});
const bare = summary('bare');
const instance = summary('instance');
console.log(`\nmedian of ${rounds} rounds, ${connections} connections, ${seconds} s each`);
console.log(`bare fastify route   ${bare.qps.toFixed(0).padStart(7)} req/s  p99 ${bare.p99} ms`);
console.log(`guardgate instance   ${instance.qps.toFixed(0).padStart(7)} req/s  p99 ${instance.p99} ms`);
// Each round's pair ran back to back: the median of the per-round ratios resists the machine's drift.
const ratios = results.instance.map((r, i) => r.qps / results.bare[i]!.qps).sort((a, b) => a - b);
console.log(
  `throughput ratio instance/bare: median of rounds ${median(ratios).toFixed(2)} (range ${ratios[0]!.toFixed(2)}-${ratios.at(-1)!.toFixed(2)}; ratio of medians ${(instance.qps / bare.qps).toFixed(2)}) (goal >= 0.80)`,
);
console.log(`p99 ratio instance/bare: ${(instance.p99 / bare.p99).toFixed(2)}`);
