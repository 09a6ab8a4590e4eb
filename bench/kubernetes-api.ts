// What the Kubernetes driver costs the API server: the requests it makes while a color of N pods rolls out,
// while both colors sit idle (the view it keeps of the pods), and while one is torn down; with the pods
// followed by a watch (the default) and, as the baseline in the same run, listed at every look.
// Run: npm run build && npx tsx bench/kubernetes-api.ts [--pods 10] [--idle 10]
// (--pods 50 runs 100 real `guardgate serve` processes: several GB of memory and a minute to start on 2 cores.)
import { pino } from 'pino';
import { KubernetesDriver } from '../src/drivers/kubernetes/driver.js';
import { startFakeCluster } from '../test/fake-cluster/cluster.js';
import { argValue } from './load.js';

const pods = argValue('pods', 10);
const idleSeconds = argValue('idle', 10);

type Counts = Record<string, number>;

async function measure(watchPods: boolean): Promise<{ rollout: Counts; idlePerSecond: Counts; teardown: Counts }> {
  const cluster = await startFakeCluster();
  const since = () => {
    const start = cluster.api.requests.length;
    return () => {
      const counts: Counts = {};
      for (const request of cluster.api.requests.slice(start)) {
        const resource = request.path
          .replace(/\/namespaces\/[^/]+/, '')
          .replace(/\/(guardgate-(blue|green)|[a-z0-9-]+-[a-z0-9]{5})$/, '/NAME')
          .replace(/\?.*$/, '');
        const key = `${request.method} ${resource}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
      return counts;
    };
  };
  const driver = await KubernetesDriver.create(
    {
      kubeconfig: cluster.kubeconfig,
      namespace: 'default',
      app: 'guardgate',
      image: 'guardgate:test',
      port: 8080,
      instanceConfig: { insecure: true },
      terminationGraceSeconds: 5,
      progressDeadlineSeconds: 600,
      logLevel: 'warn',
      readyTimeoutMs: 600_000,
      stopTimeoutMs: 120_000,
      crashLoopLimit: 3,
      watchPods,
    },
    pino({ level: 'silent' }),
  );
  try {
    const spec = (color: 'blue' | 'green') => ({
      color,
      version: `${color}-v1`,
      engine: { kind: 'lexicon' as const },
      policy: 'strict' as const,
      replicas: pods,
    });
    await driver.deploy(spec('blue'));
    const rolling = since();
    await driver.deploy(spec('green'));
    const rollout = rolling();
    const idling = since();
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idle = idling();
    const tearing = since();
    await driver.teardown('green');
    const teardown = tearing();
    await driver.teardown('blue');
    return {
      rollout,
      idlePerSecond: Object.fromEntries(
        Object.entries(idle).map(([k, v]) => [k, Math.round((10 * v) / idleSeconds) / 10]),
      ),
      teardown,
    };
  } finally {
    await driver.close();
    await cluster.close();
  }
}

const total = (counts: Counts) => Object.values(counts).reduce((a, b) => a + b, 0);
const listed = await measure(false);
const watched = await measure(true);
console.log(`Kubernetes API requests, ${pods} pods per color (${idleSeconds} s idle)`);
for (const [phase, key] of [
  ['rollout of a color', 'rollout'],
  ['idle, per second', 'idlePerSecond'],
  ['teardown of a color', 'teardown'],
] as const) {
  const [base, now] = [total(listed[key]), total(watched[key])];
  console.log(
    `  ${phase.padEnd(22)} listing ${String(Math.round(base * 10) / 10).padStart(7)}   watching ${String(Math.round(now * 10) / 10).padStart(7)}   ratio ${(now / Math.max(base, 0.1)).toFixed(2)}`,
  );
}
console.log('\nwatching, by request:');
for (const [key, counts] of Object.entries(watched)) console.log(`  ${key}: ${JSON.stringify(counts)}`);
console.log('listing, by request:');
for (const [key, counts] of Object.entries(listed)) console.log(`  ${key}: ${JSON.stringify(counts)}`);
