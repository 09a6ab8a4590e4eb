// Every way of moving traffic passes the traffic contract: the router (over local instances), a Kubernetes
// Service selector and a Gateway API HTTPRoute (over the fake cluster's pods).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { kubernetesApi } from '../../src/release/drivers/kubernetes.js';
import { GatewayApiTraffic } from '../../src/release/drivers/kubernetes-gateway.js';
import { ServiceSelectorTraffic } from '../../src/release/drivers/kubernetes-traffic.js';
import { LocalDriver } from '../../src/release/drivers/local.js';
import type { EnvironmentSpec } from '../../src/release/driver.js';
import { routerTraffic, type Traffic } from '../../src/release/traffic.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { testDriver } from '../helpers/kubernetes.js';
import { ADMIN_TOKEN, startTestRouter } from '../helpers/router.js';
import { runTrafficContract, type TrafficFixture } from './traffic-contract.js';

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

/** Blue and green deployed on a fresh fake cluster, for a Kubernetes way of moving traffic. */
async function onFakeCluster(app: string, make: (cluster: FakeCluster, settings: { namespace: string; app: string; port: number }) => Promise<Traffic>): Promise<TrafficFixture> {
  const cluster = await startFakeCluster();
  const settings = { namespace: 'default', app, port: 8080 };
  const driver = await testDriver(cluster, settings);
  await Promise.all([driver.deploy(spec('blue')), driver.deploy(spec('green'))]);
  const traffic = await make(cluster, settings);
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
}

runTrafficContract('kubernetes service selector (fake cluster)', () =>
  onFakeCluster('selector', (cluster, settings) => ServiceSelectorTraffic.create(kubernetesApi(cluster.kubeconfig), settings, { adminToken: ADMIN_TOKEN, reconnectSeconds: 2 }, silent, 'blue')),
);

runTrafficContract('kubernetes gateway api (fake cluster)', () =>
  onFakeCluster('routed', (cluster, settings) =>
    GatewayApiTraffic.create(kubernetesApi(cluster.kubeconfig), settings, { gateway: { name: 'guardgate-gateway' }, gatewayUrl: cluster.gatewayUrl, adminToken: ADMIN_TOKEN }, silent, 'blue'),
  ),
);
