// Every way of moving traffic passes the traffic contract: the router (over local instances), a Kubernetes
// Service selector and a Gateway API HTTPRoute (over the fake cluster's pods).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { GuardgateError } from '../../src/vocabulary/errors.js';
import { kubernetesApi } from '../../src/drivers/kubernetes/api.js';
import { GatewayApiTraffic } from '../../src/drivers/kubernetes/gateway.js';
import { ServiceSelectorTraffic } from '../../src/drivers/kubernetes/traffic.js';
import { LocalDriver } from '../../src/drivers/local.js';
import type { EnvironmentSpec } from '../../src/drivers/driver.js';
import { routerTraffic, type Traffic } from '../../src/release/traffic.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { testDriver } from '../helpers/kubernetes.js';
import { ADMIN_TOKEN, startTestRouter, until } from '../helpers/router.js';
import { runTrafficContract, type TrafficFixture } from './traffic-contract.js';

const silent = pino({ level: 'silent' });
const spec = (color: 'blue' | 'green'): EnvironmentSpec => ({
  color,
  version: `${color}-v1`,
  engine: { kind: 'lexicon' },
  policy: 'strict',
  replicas: 1,
});
const credentials = { authorization: `Bearer ${ADMIN_TOKEN}` };

runTrafficContract('router', async () => {
  const driver = new LocalDriver(
    {
      dataDir: mkdtempSync(join(tmpdir(), 'guardgate-traffic-')),
      readyTimeoutMs: 15_000,
      stopTimeoutMs: 3_000,
      crashLoopLimit: 3,
      crashWindowMs: 30_000,
      env: process.env,
      logLevel: 'warn',
    },
    silent,
  );
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
async function onFakeCluster(
  app: string,
  make: (cluster: FakeCluster, settings: { namespace: string; app: string; port: number }) => Promise<Traffic>,
): Promise<TrafficFixture> {
  const cluster = await startFakeCluster();
  const settings = { namespace: 'default', app, port: 8080 };
  const driver = await testDriver(cluster, settings);
  await Promise.all([driver.deploy(spec('blue')), driver.deploy(spec('green'))]);
  const traffic = await make(cluster, settings);
  await traffic.setMembers(
    'green',
    driver.describe('green')!.instances.map((i) => i.url),
    'green-v1',
  );
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
  onFakeCluster('selector', (cluster, settings) =>
    ServiceSelectorTraffic.create(
      kubernetesApi(cluster.kubeconfig),
      settings,
      { adminToken: ADMIN_TOKEN, reconnectSeconds: 2, propagationTimeoutMs: 30_000 },
      silent,
      'blue',
    ),
  ),
);

runTrafficContract('kubernetes gateway api (fake cluster)', () =>
  onFakeCluster('routed', (cluster, settings) =>
    GatewayApiTraffic.create(
      kubernetesApi(cluster.kubeconfig),
      settings,
      {
        gateway: { name: 'guardgate-gateway' },
        gatewayUrl: cluster.gatewayUrl,
        adminToken: ADMIN_TOKEN,
        propagationTimeoutMs: 30_000,
      },
      silent,
      'blue',
    ),
  ),
);

describe('a traffic change that does not reach the cluster fails its step, saying what it waited for', () => {
  it('a Service whose proxies lag past propagationTimeoutSeconds: the switch fails (propagation_timeout), naming the color that still answers', async () => {
    const cluster = await startFakeCluster({ propagationDelayMs: 3_000 });
    const settings = { namespace: 'default', app: 'lagging', port: 8080 };
    const driver = await testDriver(cluster, settings);
    try {
      await Promise.all([driver.deploy(spec('blue')), driver.deploy(spec('green'))]);
      const traffic = await ServiceSelectorTraffic.create(
        kubernetesApi(cluster.kubeconfig),
        settings,
        { adminToken: ADMIN_TOKEN, reconnectSeconds: 0, propagationTimeoutMs: 800 },
        silent,
        'blue',
      );
      // The Service first reaches blue (its first endpoints lag too).
      await until(
        async () =>
          (
            (await (
              await fetch(`${cluster.serviceUrl('lagging')}/version`).catch(() => null)
            )
              ?.json()
              .catch(() => null)) as { color?: string } | null
          )?.color === 'blue',
        20_000,
        'the lagging Service answering from blue',
      );
      const error = (await traffic.switchTo('green').catch((e: unknown) => e)) as GuardgateError;
      expect([error.code, error.message]).toEqual([
        'propagation_timeout',
        'the lagging Service answering from green: not within 800 ms (last answered by blue)',
      ]);
    } finally {
      await driver.close();
      await cluster.close();
    }
  });

  it('a route its Gateway does not resolve (a backend Service missing): the preview fails with the route status', async () => {
    const cluster = await startFakeCluster();
    const settings = { namespace: 'default', app: 'unresolved', port: 8080 };
    const driver = await testDriver(cluster, settings);
    try {
      await driver.deploy(spec('blue'));
      const traffic = await GatewayApiTraffic.create(
        kubernetesApi(cluster.kubeconfig),
        settings,
        {
          gateway: { name: 'guardgate-gateway' },
          gatewayUrl: cluster.gatewayUrl,
          adminToken: ADMIN_TOKEN,
          propagationTimeoutMs: 800,
        },
        silent,
        'blue',
      );
      const error = (await traffic
        .setMembers('green', ['http://127.0.0.1:1'], 'green-v1')
        .catch((e: unknown) => e)) as GuardgateError;
      expect([error.code, error.message]).toEqual([
        'propagation_timeout',
        'the HTTPRoute unresolved programmed by the Gateway guardgate-gateway: not within 800 ms (ResolvedRefs is False: BackendNotFound backend Services not found: unresolved-green)',
      ]);
    } finally {
      await driver.close();
      await cluster.close();
    }
  });
});
