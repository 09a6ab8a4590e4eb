// The fake cluster on its own, to try things against by hand: kubectl, `guardgate up --driver kubernetes`, or the
// opt-in real-cluster suite (KUBECONFIG=FILE npx vitest run test/release/kubernetes-real.test.ts).
//   npx tsx test/fake-cluster/serve.ts FILE [--second-ms N]
// writes its kubeconfig to FILE and runs until Ctrl-C (or SIGTERM), then stops its pods. Kubernetes seconds (grace
// periods, deadlines) last --second-ms milliseconds (default 1000: real time). Needs `npm run build` (pods run dist/).
import { writeFileSync } from 'node:fs';
import { startFakeCluster } from './cluster.js';

const [file, ...rest] = process.argv.slice(2);
if (file === undefined || file.startsWith('-')) {
  console.error('usage: npx tsx test/fake-cluster/serve.ts KUBECONFIG_FILE [--second-ms N]');
  process.exit(2);
}
const at = rest.indexOf('--second-ms');
const secondMs = at === -1 ? 1_000 : Number(rest[at + 1]);
if (!Number.isInteger(secondMs) || secondMs <= 0) {
  console.error(`--second-ms must be a positive whole number of milliseconds (got ${rest[at + 1]})`);
  process.exit(2);
}
const cluster = await startFakeCluster({ secondMs });
writeFileSync(file, cluster.kubeconfig, { mode: 0o600 });
console.log(`fake cluster up: KUBECONFIG=${file} (Kubernetes seconds are ${secondMs} ms); Ctrl-C stops it`);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void cluster.close().then(() => process.exit(0));
  });
