// The fake cluster's nodes each run their own kube-proxy, as late as its own delay: a client on a slow node
// learns of a Service's pods later than a client on a fast one. The chaos test delays kube-proxy per node with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from './cluster.js';
import type { KubeObject } from './api-server.js';
import { until } from '../helpers/router.js';

const deployment = (color: string): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `model-${color}`, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'model', color } },
      template: {
        metadata: { labels: { app: 'model', color } },
        spec: {
          containers: [
            {
              name: 'model',
              image: 'fake-vllm:test',
              ports: [{ name: 'http', containerPort: 8000 }],
              readinessProbe: { httpGet: { path: '/health', port: 'http' } },
            },
          ],
        },
      },
    },
  }) as unknown as KubeObject;

/** Which pod answers through a node's kube-proxy: its address, or undefined when the connection is refused. */
const answering = async (url: string): Promise<string | undefined> => {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? 'answered' : undefined;
  } catch {
    return undefined;
  }
};

describe('the fake cluster: a kube-proxy per node', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster({
      nodes: [
        { name: 'node-a', gpus: 0, propagationDelayMs: 0 },
        { name: 'node-b', gpus: 0, propagationDelayMs: 60_000 },
      ],
    });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("each node's kube-proxy learns the Service's endpoints as late as its own delay", async () => {
    const store = cluster.api.store;
    store.create(deployment('blue'));
    store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'model', namespace: 'default' },
      spec: { selector: { app: 'model', color: 'blue' }, ports: [{ port: 80, targetPort: 'http' }] },
    } as unknown as KubeObject);
    await until(() => store.list('Pod', 'default', 'app=model').some((p) => p.status?.podIP), 30_000, 'a blue pod');
    const onA = cluster.serviceUrl('model', 'default', 'node-a')!;
    const onB = cluster.serviceUrl('model', 'default', 'node-b')!;
    expect(onA).toBe(cluster.serviceUrl('model'));
    expect(onB).not.toBe(onA);
    // Node A's kube-proxy knows the ready pod at once; node B's, a minute late, not yet.
    await until(async () => (await answering(onA)) !== undefined, 30_000, 'the Service answering on node A');
    expect(await answering(onB)).toBeUndefined();
    // Node B catches up once its kube-proxy is fast again.
    cluster.setPropagationDelay(100, 'node-b');
    await until(async () => (await answering(onB)) !== undefined, 30_000, 'the Service answering on node B');
    expect(() => cluster.serviceUrl('model', 'default', 'node-c')).toThrow(/no node node-c/);
  });

  it('gives a headless Service (clusterIP None) no kube-proxy address, and goes on serving', async () => {
    cluster.api.store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'headless', namespace: 'default' },
      spec: { clusterIP: 'None', selector: { app: 'model' }, ports: [{ name: 'http', port: 8000 }] },
    } as unknown as KubeObject);
    // A Service made after it gets its proxy: kube-proxy has reconciled past the headless one, and tried no address "None".
    cluster.api.store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'after-headless', namespace: 'default' },
      spec: { selector: { app: 'model' }, ports: [{ name: 'http', port: 8000 }] },
    } as unknown as KubeObject);
    await until(() => cluster.serviceUrl('after-headless') !== undefined, 30_000, 'a proxy for the Service after it');
    expect(cluster.serviceUrl('headless')).toBeUndefined();
    expect(await answering(cluster.serviceUrl('model', 'default', 'node-a')!)).toBe('answered');
  });
});
