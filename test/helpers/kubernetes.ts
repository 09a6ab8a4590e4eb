// The Kubernetes driver on a fake cluster, configured as the tests want it: short deadlines, a fast view of
// the pods, pods that accept the test admin token (and serve without credentials: they are reached on the
// cluster network, behind the router or a Service).
import { pino } from 'pino';
import { sha256Hex } from '../../src/auth/api-keys.js';
import { KubernetesDriver, type KubernetesDriverOptions } from '../../src/drivers/kubernetes/driver.js';
import type { FakeCluster } from '../fake-cluster/cluster.js';
import { ADMIN_TOKEN } from './router.js';

export function testDriverOptions(
  cluster: FakeCluster,
  overrides: Partial<KubernetesDriverOptions> = {},
): KubernetesDriverOptions {
  return {
    kubeconfig: cluster.kubeconfig,
    namespace: 'default',
    app: 'guardgate',
    image: 'guardgate:test',
    port: 8080,
    instanceConfig: { insecure: true, auth: { adminTokenSha256: sha256Hex(ADMIN_TOKEN) } },
    terminationGraceSeconds: 10,
    progressDeadlineSeconds: 150,
    logLevel: 'warn',
    readyTimeoutMs: 20_000,
    stopTimeoutMs: 10_000,
    crashLoopLimit: 3,
    refreshMs: 100,
    ...overrides,
  };
}

export const testDriver = (
  cluster: FakeCluster,
  overrides: Partial<KubernetesDriverOptions> = {},
): Promise<KubernetesDriver> =>
  KubernetesDriver.create(testDriverOptions(cluster, overrides), pino({ level: 'silent' }));
