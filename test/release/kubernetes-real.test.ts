// Opt-in: a real cluster (kind, k3s) when KUBECONFIG is set, with the image GUARDGATE_TEST_IMAGE (guardgate:latest
// by default) loaded into it, in the namespace GUARDGATE_TEST_NAMESPACE (default: default). Skipped, saying why,
// otherwise (CI too: no cluster runs there). What runs there:
// - the driver contract (pods deployed, switched, replaced), with this machine reaching the pods' addresses
//   (docs/kubernetes.md: a route to kind's pod network);
// - the controller Lease's handover between two controllers, read through the API (lease-contract.ts);
// - the render of each traffic mode through `kubectl apply -k --dry-run=server`: the real API server's validation,
//   defaulting and admission (Pod Security where the namespace enforces it) judge every object, and nothing is
//   created; a misspelt field is refused. The Gateway API mode runs only where its CRDs are installed.
// - the rendered controller applied for real (`kubectl apply -k`), with GUARDGATE_TEST_DATABASE_URL (a PostgreSQL its
//   pod reaches) for its state: a release through the controller pod's admin API, then that pod deleted; the
//   Deployment's new pod takes the Lease and adopts the live color (same generation, same pods, no restart). Every
//   object it created is deleted at the end; its PostgreSQL schema (gg_real_<random>) stays in that database.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPOSITORY } from '../../src/deploy/assets.js';
import { kubernetesApi } from '../../src/drivers/kubernetes/api.js';
import { KubernetesDriver } from '../../src/drivers/kubernetes/driver.js';
import { runCli } from '../helpers/cli.js';
import { kubectl as runKubectl } from '../helpers/kubectl.js';
import { runDriverContract } from './driver-contract.js';
import { until } from '../helpers/router.js';
import { runLeaseContract } from './lease-contract.js';

const kubeconfig = process.env.KUBECONFIG;
const namespace = process.env.GUARDGATE_TEST_NAMESPACE ?? 'default';

/** kubectl on the cluster of KUBECONFIG: its exit code and what it printed. */
const kubectl = (...args: string[]) => runKubectl(args);

/** `guardgate k8s render` of the example spec into `out`, as `app` in the test namespace. */
async function renderInto(out: string, app: string, flags: string[]): Promise<string> {
  const cli = runCli([
    'k8s',
    'render',
    join(REPOSITORY, 'examples/lexicon-v2.yaml'),
    '--out',
    out,
    '--namespace',
    namespace,
    '--app',
    app,
    ...flags,
  ]);
  const code = await cli.exited;
  expect(code, cli.stderr()).toBe(0);
  return out;
}

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
    const render = (name: string, flags: string[]) =>
      renderInto(join(dir, name), `guardgate-render-${process.pid}`, flags);

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

  describe('the rendered controller in the cluster (kubectl apply -k)', () => {
    it('releases through the controller pod; a deleted controller pod is replaced, and the new one adopts the live color untouched', async (context) => {
      const databaseUrl = process.env.GUARDGATE_TEST_DATABASE_URL;
      if (databaseUrl === undefined)
        return context.skip(
          'GUARDGATE_TEST_DATABASE_URL is not set: the rendered controller keeps its state in PostgreSQL, reached from its pod at that URL',
        );
      // A name no earlier run used: its state (a schema of its own) never meets an earlier run's.
      const suffix = randomBytes(4).toString('hex');
      const app = `gg-ctl-${suffix}`;
      const dir = mkdtempSync(join(tmpdir(), 'guardgate-real-controller-'));
      const out = await renderInto(join(dir, 'render'), app, [
        '--image',
        process.env.GUARDGATE_TEST_IMAGE ?? 'guardgate:latest',
      ]);
      const token = randomBytes(24).toString('hex');
      const schema = `gg_real_${suffix}`;
      const ok = async (...args: string[]) => {
        const run = await kubectl('-n', namespace, ...args);
        expect(run.code, `kubectl ${args.join(' ')}\n${run.output}`).toBe(0);
        return run.output;
      };
      const controllerPods = async () =>
        JSON.parse(await ok('get', 'pods', '-l', `app=${app}-controller`, '-o', 'json')).items.filter(
          (pod: { metadata: { deletionTimestamp?: string } }) => pod.metadata.deletionTimestamp === undefined,
        ) as Array<{ metadata: { name: string }; status: { podIP?: string } }>;
      const colorState = async (color: string) => {
        const deployment = JSON.parse(await ok('get', 'deployment', `${app}-${color}`, '-o', 'json'));
        const pods = JSON.parse(await ok('get', 'pods', '-l', `app=${app},color=${color}`, '-o', 'json')).items;
        return {
          generation: deployment.metadata.generation as number,
          pods: pods
            .map(
              (pod: { metadata: { name: string }; status: { containerStatuses?: Array<{ restartCount: number }> } }) =>
                `${pod.metadata.name} restarts ${(pod.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0)}`,
            )
            .sort(),
        };
      };
      /** The admin API of the controller pod that runs now (this machine reaches pod addresses: see the header). */
      const admin = async (method: string, path: string, body?: unknown) => {
        const [pod] = await controllerPods();
        const response = await fetch(`http://${pod?.status.podIP}:8081${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(10_000),
        });
        return (await response.json()) as any;
      };
      /** The last answer of the controller's status (or why there was none), said when a wait on it fails. */
      let seen: any = null;
      const untilStatus = async (holds: (status: any) => boolean, timeoutMs: number, what: string) => {
        try {
          await until(
            async () => {
              seen = await admin('GET', '/admin/controller').catch((error: Error) => ({ unanswered: error.message }));
              return holds(seen);
            },
            timeoutMs,
            what,
          );
        } catch (error) {
          throw new Error(`${(error as Error).message}; the controller's last status: ${JSON.stringify(seen)}`);
        }
      };
      try {
        // The Secrets the render names, as its kustomization.yaml says to create them (applied from a file here).
        const secret = (name: string, stringData: Record<string, string>) => ({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace },
          stringData,
        });
        const secrets = [
          secret(`${app}-controller`, {
            GUARDGATE_ADMIN_TOKEN: token,
            DATABASE_URL: databaseUrl,
            GUARDGATE_CONTROLLER_SCHEMA: schema,
            GUARDGATE_AUDIT_SCHEMA: schema,
          }),
          secret(`${app}-api-keys`, { 'api-keys.json': JSON.stringify({ keys: [] }) }),
        ];
        writeFileSync(join(dir, 'secrets.yaml'), secrets.map((o) => stringify(o)).join('---\n'), {
          mode: 0o600,
        });
        await ok('apply', '-f', join(dir, 'secrets.yaml'));
        await ok('apply', '-k', out);
        await ok('rollout', 'status', `deployment/${app}-controller`, '--timeout=180s');
        await untilStatus(
          (status) => status.environments?.blue?.instances?.some((i: any) => i.state === 'ready') === true,
          180_000,
          'the controller pod serving blue (the rendered environment, adopted)',
        );

        const created = await admin('POST', '/admin/releases', {
          version: 'v2',
          engine: { kind: 'lexicon' },
          policy: 'strict',
          replicas: 1,
          gates: { load: { enabled: false }, shadow: { enabled: false }, watch: { enabled: false } },
        });
        expect(created.state, JSON.stringify(created)).toBe('deploying');
        await untilStatus(
          (status) => ['stable', 'aborted', 'rolled_back'].includes(status.release?.state),
          300_000,
          'the release through the controller pod ended',
        );
        expect(seen.release.state, JSON.stringify(seen.release)).toBe('stable');
        expect(seen.active).toBe('green');
        const before = await colorState('green');
        expect(before.pods.length).toBeGreaterThan(0);

        const [old] = await controllerPods();
        await ok('delete', 'pod', old!.metadata.name, '--wait=false');
        await until(
          async () => (await controllerPods()).some((pod) => pod.metadata.name !== old!.metadata.name),
          120_000,
          'a new controller pod',
        );
        await ok('rollout', 'status', `deployment/${app}-controller`, '--timeout=180s');
        await untilStatus(
          (status) => status.active === 'green' && status.release?.version === 'v2',
          180_000,
          'the new controller pod answering, green active',
        );
        expect(seen.release.state).toBe('stable');
        const [replacement] = await controllerPods();
        const lease = JSON.parse(await ok('get', 'lease', `${app}-controller`, '-o', 'json'));
        expect(lease.spec.holderIdentity).toBe(replacement!.metadata.name);
        // Adopted, not redeployed: same generation, same pods, no restart.
        expect(await colorState('green')).toEqual(before);
      } finally {
        await kubectl('-n', namespace, 'delete', '-k', out, '--ignore-not-found', '--wait=false');
        await kubectl(
          '-n',
          namespace,
          'delete',
          'deployments,services,configmaps,secrets,leases,poddisruptionbudgets',
          '-l',
          `app=${app}`,
          '--ignore-not-found',
          '--wait=false',
        );
        for (const [kind, ...names] of [
          ['secret', `${app}-controller`, `${app}-api-keys`, `${app}-env`, `${app}-credentials`],
          ['lease', `${app}-controller`],
        ])
          await kubectl('-n', namespace, 'delete', kind!, ...names, '--ignore-not-found', '--wait=false');
      }
    }, 900_000);
  });
}
