// Both ways of moving traffic pass the traffic contract: the router (over local instances) and a Kubernetes
// Service selector (over the fake cluster's pods).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { sha256Hex } from '../../src/auth/api-keys.js';
import { KubernetesDriver, kubernetesApi } from '../../src/release/drivers/kubernetes.js';
import { ServiceSelectorTraffic } from '../../src/release/drivers/kubernetes-traffic.js';
import { LocalDriver } from '../../src/release/drivers/local.js';
import type { EnvironmentSpec } from '../../src/release/driver.js';
import { routerTraffic } from '../../src/release/traffic.js';
import { startFakeCluster } from '../fake-cluster/cluster.js';
import { ADMIN_TOKEN, startTestRouter } from '../helpers/router.js';
import { runTrafficContract } from './traffic-contract.js';

const silent = pino({ level: 'silent' });
const spec = (color: 'blue' | 'green'): EnvironmentSpec => ({ color, version: `${color}-v1`, engine: { kind: 'lexicon' }, policy: 'strict', replicas: 1 });
const credentials = { authorization: `Bearer ${ADMIN_TOKEN}` };

runTrafficContract('router', async () => {
  const driver = new LocalDriver({ dataDir: mkdtempSync(join(tmpdir(), 'guardgate-traffic-')), readyTimeoutMs: 15_000, stopTimeoutMs: 3_000, crashLoopLimit: 3, crashWindowMs: 30_000, env: {}, logLevel: 'warn' }, silent);
  const [blue, green] = await Promise.all([driver.deploy(spec('blue')), driver.deploy(spec('green'))]);
  const router = await startTestRouter({ blue: blue.instances[0]!.url, green: green.instances[0]!.url });
  const traffic = routerTraffic(router.router);
  return {
    traffic,
    credentials,
    empty: (color) => traffic.setMembers(color, [], null),
    close: async () => {
      await router.close();
      await driver.close();
    },
  };
});

runTrafficContract('kubernetes service selector (fake cluster)', async () => {
  const cluster = await startFakeCluster();
  const settings = { namespace: 'default', app: 'selector', port: 8080 };
  const driver = await KubernetesDriver.create(
    {
      ...settings,
      kubeconfig: cluster.kubeconfig,
      image: 'guardgate:test',
      instanceConfig: { insecure: true, auth: { adminTokenSha256: sha256Hex(ADMIN_TOKEN) } },
      terminationGraceSeconds: 10,
      progressDeadlineSeconds: 150,
      logLevel: 'warn',
      readyTimeoutMs: 20_000,
      stopTimeoutMs: 10_000,
      crashLoopLimit: 3,
      refreshMs: 100,
    },
    silent,
  );
  await Promise.all([driver.deploy(spec('blue')), driver.deploy(spec('green'))]);
  const traffic = await ServiceSelectorTraffic.create(kubernetesApi(cluster.kubeconfig), settings, { adminToken: ADMIN_TOKEN, reconnectSeconds: 2 }, silent, 'blue');
  await traffic.setMembers('green', driver.describe('green')!.instances.map((i) => i.url), 'green-v1');
  return {
    traffic,
    credentials,
    empty: (color) => driver.teardown(color),
    close: async () => {
      await driver.close();
      await cluster.close();
    },
  };
});
