// Opt-in: the driver contract against a real cluster (kind, k3s) when KUBECONFIG is set, with the image
// GUARDGATE_TEST_IMAGE (guardgate:latest by default) loaded into it. Skipped, saying why, otherwise (CI too:
// no cluster runs there).
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, it } from 'vitest';
import { KubernetesDriver } from '../../src/drivers/kubernetes/driver.js';
import { runDriverContract } from './driver-contract.js';

const kubeconfig = process.env.KUBECONFIG;

if (kubeconfig === undefined) {
  describe('driver contract: kubernetes (real cluster)', () => {
    it('runs when KUBECONFIG names a cluster', (context) =>
      context.skip(
        'KUBECONFIG is not set: no real cluster to run the Kubernetes driver contract against (the fake cluster suite runs instead)',
      ));
  });
} else {
  runDriverContract('kubernetes (real cluster)', async () => ({
    driver: await KubernetesDriver.create(
      {
        kubeconfig: readFileSync(kubeconfig, 'utf8'),
        namespace: process.env.GUARDGATE_TEST_NAMESPACE ?? 'default',
        app: `guardgate-test-${process.pid}`,
        image: process.env.GUARDGATE_TEST_IMAGE ?? 'guardgate:latest',
        port: 8080,
        instanceConfig: { insecure: true },
        terminationGraceSeconds: 10,
        progressDeadlineSeconds: 120,
        logLevel: 'warn',
        readyTimeoutMs: 180_000,
        stopTimeoutMs: 60_000,
        crashLoopLimit: 3,
      },
      pino({ level: 'silent' }),
    ),
  }));
}
