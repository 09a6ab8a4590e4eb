// The Kubernetes driver passes the same contract as the local driver, against the fake cluster: Deployments
// whose pods are real `guardgate serve` processes, readiness from their probes, crash loops and restarts.
import { pino } from 'pino';
import { KubernetesDriver } from '../../src/release/drivers/kubernetes.js';
import { startFakeCluster } from '../fake-cluster/cluster.js';
import { runDriverContract } from './driver-contract.js';

runDriverContract('kubernetes (fake cluster)', async () => {
  const cluster = await startFakeCluster();
  const driver = await KubernetesDriver.create(
    {
      kubeconfig: cluster.kubeconfig,
      namespace: 'default',
      app: 'guardgate',
      image: 'guardgate:test',
      port: 8080,
      // Pods are reached on the cluster network, behind the router: no credentials in this test.
      instanceConfig: { insecure: true },
      terminationGraceSeconds: 10,
      progressDeadlineSeconds: 150,
      logLevel: 'warn',
      readyTimeoutMs: 20_000,
      stopTimeoutMs: 10_000,
      crashLoopLimit: 3,
      refreshMs: 100,
    },
    pino({ level: 'silent' }),
  );
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
