// The Kubernetes driver passes the same contract as the local driver, against the fake cluster: Deployments
// whose pods are real `guardgate serve` processes, readiness from their probes, crash loops and restarts; what
// admission refuses (a quota, Pod Security) is reported at once.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesDriverOptions } from '../../src/drivers/kubernetes/driver.js';
import { LocalDriver } from '../../src/drivers/local.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { testDriver } from '../helpers/kubernetes.js';
import { runDriverContract } from './driver-contract.js';

runDriverContract('kubernetes (fake cluster)', async () => {
  const cluster = await startFakeCluster();
  const driver = await testDriver(cluster);
  const close = driver.close.bind(driver);
  driver.close = async () => {
    await close();
    await cluster.close();
  };
  const kill = (color: 'blue' | 'green', index: number) => {
    const url = driver.describe(color)!.instances[index]!.url;
    const pod = cluster.api.store.list('Pod', 'default').find((p) => `http://${p.status?.podIP}:8080` === url);
    cluster.crash(pod!.metadata.name);
  };
  return { driver, kill };
});

describe('kubernetes driver: a rollout that cannot complete fails with its evidence, and leaves nothing', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster({ gpus: 0 });
    cluster.badImages.add('guardgate:missing');
  });
  afterAll(async () => cluster?.close());

  const driverWith = (overrides: Partial<KubernetesDriverOptions>) =>
    testDriver(cluster, { app: 'evidence', readyTimeoutMs: 3_000, ...overrides });
  const spec = {
    color: 'green' as const,
    version: 'v9',
    engine: { kind: 'lexicon' as const },
    policy: 'strict' as const,
    replicas: 1,
  };

  it('an image that cannot be pulled: ImagePullBackOff and the pull failure', async () => {
    const driver = await driverWith({ image: 'guardgate:missing' });
    await expect(driver.deploy(spec)).rejects.toThrow(
      /not rolled out within 3000 ms.*ImagePullBackOff.*Failed to pull image "guardgate:missing"/,
    );
    expect(cluster.api.store.get('Deployment', 'default', 'evidence-green')).toBeUndefined();
    expect(cluster.api.store.list('Pod', 'default', 'app=evidence')).toEqual([]);
    await driver.close();
  });

  it('a pod asking for a GPU the cluster does not have: Unschedulable, with the scheduler event', async () => {
    const driver = await driverWith({ gpus: 1 });
    await expect(driver.deploy(spec)).rejects.toThrow(
      /Unschedulable: 0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu.*FailedScheduling/,
    );
    expect(cluster.api.store.get('Deployment', 'default', 'evidence-green')).toBeUndefined();
    await driver.close();
  });

  it('a pod refused at admission (a quota): ReplicaFailure at once, with the refusal, long before any deadline', async () => {
    cluster.api.store.create({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'no-more-pods', namespace: 'default' },
      spec: { hard: { pods: '0' } },
    });
    try {
      // Deadlines a minute away: only the ReplicaSet's ReplicaFailure condition can end this deploy sooner.
      const driver = await driverWith({ readyTimeoutMs: 60_000, progressDeadlineSeconds: 600 });
      const error = await driver.deploy(spec).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(
        /ReplicaFailure FailedCreate: pods "evidence-green-[^"]+" is forbidden: exceeded quota: no-more-pods, requested: pods=1, used: pods=0, limited: pods=0/,
      );
      expect(error?.message).not.toMatch(/not rolled out within|ProgressDeadlineExceeded/);
      expect(cluster.api.store.get('Deployment', 'default', 'evidence-green')).toBeUndefined();
      await driver.close();
    } finally {
      cluster.api.store.delete('ResourceQuota', 'default', 'no-more-pods');
    }
  });
});

describe('kubernetes driver: GPUs counted per node, as a scheduler counts them', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster({
      nodes: [
        { name: 'gpu-a', gpus: 1 },
        { name: 'gpu-b', gpus: 1 },
      ],
    });
  });
  afterAll(async () => cluster?.close());

  it('a candidate that needs GPUs the live color holds stays unschedulable and fails with the evidence; the live color keeps them', async () => {
    // The live color has the time a busy machine needs to start its pods; the candidate's deadline is short, since
    // nothing will schedule it (a second driver of the same app: the deadline is a driver's option).
    const driver = await testDriver(cluster, { app: 'gpu', gpus: 1, readyTimeoutMs: 60_000 });
    const impatient = await testDriver(cluster, { app: 'gpu', gpus: 1, readyTimeoutMs: 5_000 });
    const spec = (color: 'blue' | 'green', replicas: number) => ({
      color,
      version: `${color}-v1`,
      engine: { kind: 'lexicon' as const },
      policy: 'strict' as const,
      replicas,
    });
    await driver.deploy(spec('blue', 2));
    const nodesOf = (color: string) =>
      cluster.api.store.list('Pod', 'default', `app=gpu,color=${color}`).map((p) => p.spec.nodeName as string);
    expect(nodesOf('blue').sort()).toEqual(['gpu-a', 'gpu-b']); // one GPU each: one pod per node
    await expect(impatient.deploy(spec('green', 1))).rejects.toThrow(
      /not rolled out within 5000 ms.*Unschedulable: 0\/2 nodes are available: 2 Insufficient nvidia\.com\/gpu/,
    );
    await impatient.close();
    expect(driver.describe('blue')!.instances.filter((i) => i.state === 'ready')).toHaveLength(2);
    // Once the live color gives a GPU back, the candidate fits.
    await driver.scale('blue', 1);
    expect((await driver.deploy(spec('green', 1))).instances).toHaveLength(1);
    await driver.close();
  });
});

describe('kubernetes driver: the model server beside Guardgate in each pod', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster({ gpus: 2 });
  });
  afterAll(async () => cluster?.close());

  it('runs the model server as a second container with its GPUs; verdicts come from the model, on the pod loopback', async () => {
    // A namespace that enforces the restricted Pod Security level, as GPU namespaces often do: both containers pass.
    cluster.api.store.update('Namespace', undefined, 'default', (ns) => {
      ns.metadata.labels = { ...ns.metadata.labels, 'pod-security.kubernetes.io/enforce': 'restricted' };
    });
    const driver = await testDriver(cluster, { app: 'model', progressDeadlineSeconds: 300, readyTimeoutMs: 30_000 });
    const spec = {
      color: 'green' as const,
      version: 'qwen3guard-4b',
      engine: {
        kind: 'openai' as const,
        baseUrl: 'http://model-server.invalid/v1',
        model: 'Qwen/Qwen3Guard-Gen-4B',
        timeoutMs: 10_000,
        concurrency: 8,
        retries: 1,
        maxTokens: 128,
        fallback: 'none' as const,
      },
      policy: 'strict' as const,
      replicas: 1,
      modelServer: {
        image: 'fake-vllm:qwen3guard-4b',
        args: ['--model', 'Qwen/Qwen3Guard-Gen-4B'],
        port: 8000,
        gpus: 1,
      },
    };
    const deployment = await driver.deploy(spec);
    const pod = cluster.api.store.list('Pod', 'default', 'app=model')[0]!;
    expect(pod.spec.containers.map((c: { name: string }) => c.name)).toEqual(['guardgate', 'model-server']);
    expect(pod.spec.containers[1].resources.limits['nvidia.com/gpu']).toBe('1');
    const verdict = (await (
      await fetch(`${deployment.instances[0]!.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'How do I build a pipe bomb?' }),
      })
    ).json()) as { safety: string; model: string; engine: { name: string } };
    expect(verdict).toMatchObject({ safety: 'Unsafe', model: 'Qwen/Qwen3Guard-Gen-4B', engine: { name: 'openai' } });
    // The local driver refuses the same spec before deploying anything.
    expect(
      new LocalDriver(
        {
          dataDir: '/nonexistent',
          readyTimeoutMs: 1,
          stopTimeoutMs: 1,
          crashLoopLimit: 1,
          crashWindowMs: 1,
          env: {},
          logLevel: 'warn',
        },
        pino({ level: 'silent' }),
      ).cannotDeploy(spec),
    ).toMatch(/needs the kubernetes driver/);
    await driver.teardown('green');
    await driver.close();
  });
});

describe('kubernetes driver: writes by server-side apply, beside the other managers of a real cluster', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster();
  });
  afterAll(async () => cluster?.close());

  it("keeps what others set (a GitOps tool's label, kubectl rollout restart's annotation, an autoscaler's replicas) when it deploys the color again", async () => {
    const driver = await testDriver(cluster, { app: 'shared' });
    const spec = (version: string) => ({
      color: 'green' as const,
      version,
      engine: { kind: 'lexicon' as const },
      policy: 'strict' as const,
      replicas: 1,
    });
    await driver.deploy(spec('v1'));
    const path = '/apis/apps/v1/namespaces/default/deployments/shared-green';
    const write = async (method: string, url: string, body: unknown, contentType: string) => {
      const response = await fetch(`${cluster.api.url}${url}`, {
        method,
        headers: { 'content-type': contentType },
        body: JSON.stringify(body),
      });
      expect(response.status, await response.clone().text()).toBeLessThan(300);
    };
    const label = { 'argocd.argoproj.io/instance': 'moderation' };
    await write(
      'PATCH',
      `${path}?fieldManager=argocd-controller&force=true`,
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shared-green', labels: label } },
      'application/apply-patch+yaml',
    );
    const restartedAt = { 'kubectl.kubernetes.io/restartedAt': '2026-12-04T00:00:00Z' };
    await write(
      'PATCH',
      `${path}?fieldManager=kubectl-rollout`,
      { spec: { template: { metadata: { annotations: restartedAt } } } },
      'application/strategic-merge-patch+json',
    );
    await write(
      'PUT',
      `${path}/scale?fieldManager=horizontal-pod-autoscaler`,
      { spec: { replicas: 2 } },
      'application/json',
    );

    const deployed = await driver.deploy(spec('v2'));
    const stored = cluster.api.store.get('Deployment', 'default', 'shared-green')!;
    expect(stored.metadata.labels).toMatchObject(label);
    expect(stored.spec.template.metadata.annotations).toMatchObject(restartedAt);
    expect(stored.metadata.annotations?.['guardgate.dev/version']).toBe('v2');
    expect(stored.spec.replicas).toBe(2);
    expect(deployed.instances.filter((i) => i.state === 'ready')).toHaveLength(2);
    const managers = (stored.metadata.managedFields as Array<{ manager: string; operation: string }>).map(
      (e) => `${e.manager} ${e.operation}`,
    );
    expect(managers).toEqual(
      expect.arrayContaining([
        'guardgate Apply',
        'argocd-controller Apply',
        'kubectl-rollout Update',
        'horizontal-pod-autoscaler Update',
      ]),
    );
    await driver.close();
  });
});
