// Opt-in: a real cluster (kind, k3s) when KUBECONFIG is set, with the image GUARDGATE_TEST_IMAGE (guardgate:latest
// by default) loaded into it, in the namespace GUARDGATE_TEST_NAMESPACE (default: default). Skipped, saying why,
// otherwise (CI too: no cluster runs there). What runs there:
// - the driver contract (pods deployed, switched, replaced), with this machine reaching the pods' addresses
//   (docs/kubernetes.md: a route to kind's pod network);
// - the controller Lease's handover between two controllers, read through the API (lease-contract.ts);
// - the render of each traffic mode through `kubectl apply -k --dry-run=server`: the real API server's validation,
//   defaulting and admission (Pod Security where the namespace enforces it) judge every object, and nothing is
//   created; a misspelt field is refused. The Gateway API mode runs only where its CRDs are installed.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { REPOSITORY } from '../../src/deploy/assets.js';
import { kubernetesApi } from '../../src/drivers/kubernetes/api.js';
import { KubernetesDriver } from '../../src/drivers/kubernetes/driver.js';
import { runCli } from '../helpers/cli.js';
import { runDriverContract } from './driver-contract.js';
import { runLeaseContract } from './lease-contract.js';

const kubeconfig = process.env.KUBECONFIG;
const namespace = process.env.GUARDGATE_TEST_NAMESPACE ?? 'default';

/** kubectl on the cluster of KUBECONFIG: its exit code and what it printed. */
const kubectl = (...args: string[]) =>
  promisify(execFile)('kubectl', args, { encoding: 'utf8', timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : 1,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );

if (kubeconfig === undefined) {
  describe('kubernetes (real cluster)', () => {
    it('runs when KUBECONFIG names a cluster', (context) =>
      context.skip(
        'KUBECONFIG is not set: no real cluster to run the driver contract, the Lease and the render against (the fake cluster suite runs instead)',
      ));
  });
} else {
  runDriverContract('kubernetes (real cluster)', async () => ({
    driver: await KubernetesDriver.create(
      {
        kubeconfig: readFileSync(kubeconfig, 'utf8'),
        namespace,
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

  runLeaseContract('real cluster', () => ({ api: kubernetesApi(readFileSync(kubeconfig, 'utf8')), namespace }));

  describe('the render on a real API server (kubectl apply -k --dry-run=server)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-real-render-'));
    const render = async (name: string, flags: string[]) => {
      const out = join(dir, name);
      const cli = runCli([
        'k8s',
        'render',
        join(REPOSITORY, 'examples/lexicon-v2.yaml'),
        '--out',
        out,
        '--namespace',
        namespace,
        '--app',
        `guardgate-render-${process.pid}`,
        ...flags,
      ]);
      const code = await cli.exited;
      expect(code, cli.stderr()).toBe(0);
      return out;
    };

    it.for([
      ['service-selector', []],
      ['gateway-api', ['--traffic', 'gateway-api', '--gateway', 'edge/gateways', '--host', 'moderation.example.com']],
    ] as Array<[string, string[]]>)(
      'the %s render is accepted whole, and a misspelt field refused',
      async ([mode, flags], context) => {
        if (mode === 'gateway-api') {
          const crd = await kubectl('get', 'crd', 'httproutes.gateway.networking.k8s.io');
          if (crd.code !== 0) return context.skip('the Gateway API CRDs are not installed in this cluster');
        }
        const out = await render(mode, flags);
        const applied = await kubectl('apply', '-k', out, '--dry-run=server');
        expect(applied.code, applied.output).toBe(0);
        expect(applied.output).toMatch(/created \(server dry run\)$/m);
        const typo = join(dir, `${mode}-typo.yaml`);
        writeFileSync(
          typo,
          readFileSync(join(out, 'front-door.yaml'), 'utf8').replace(/^spec:$/m, 'spec:\n  sessionAffinityy: None'),
        );
        const refused = await kubectl('apply', '-f', typo, '--dry-run=server');
        expect(refused.code).not.toBe(0);
        expect(refused.output).toMatch(/unknown field "spec.sessionAffinityy"/);
      },
    );
  });
}
