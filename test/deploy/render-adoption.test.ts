// What `guardgate k8s render` writes for the controller is what the controller itself writes: the rendered
// controller configuration (up.yaml and the initial release) run as `guardgate up` on the fake cluster
// produces the same blue environment, the same live and preview Services, and nothing its Role does not allow;
// the API keys of the rendered Secret are what the pods accept.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import { controllerRules } from '../../src/deploy/controller-objects.js';
import { parseRenderOptions } from '../../src/deploy/options.js';
import { renderObjects } from '../../src/deploy/render.js';
import type { KubeObject } from '../../src/deploy/meta.js';
import { loadReleaseSpec } from '../../src/release/spec.js';
import type { RunningUp } from '../../src/app/up.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { outsideRole } from '../fake-cluster/rbac.js';
import type { KubeObject as StoredObject } from '../fake-cluster/api-server.js';
import { applyDefaults } from '../fake-cluster/defaulting.js';
import { postJson, tempDataDir } from '../helpers/instance.js';
import { quickSpec, startTestUp } from '../helpers/up.js';
import { until } from '../helpers/router.js';

const SPEC = new URL('../../examples/lexicon-v2.yaml', import.meta.url).pathname;

describe('the rendered controller, running on the fake cluster', () => {
  let cluster: FakeCluster;
  let up: RunningUp;
  let rendered: Record<string, KubeObject[]>;
  let apiKey: string;
  const find = (file: string, kind: string, name: string) => rendered[file]!.find((o) => o.kind === kind && o.metadata.name === name)!;

  beforeAll(async () => {
    cluster = await startFakeCluster({ propagationDelayMs: 50 });
    const spec = loadReleaseSpec(SPEC);
    rendered = renderObjects(spec, parseRenderOptions({ namespace: 'default', image: 'guardgate:test' }));
    // The Secrets the operator creates first: the API keys (a file made by guardgate keys add).
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-adopt-'));
    apiKey = addApiKey(join(dir, 'api-keys.json'), 'checkout-app', ['moderate']);
    const { readFileSync } = await import('node:fs');
    cluster.api.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'guardgate-api-keys', namespace: 'default' }, type: 'Opaque', data: { 'api-keys.json': readFileSync(join(dir, 'api-keys.json')).toString('base64') } });
    // The controller's pod mounts its ConfigMap: the same files here.
    const config = find('controller.yaml', 'ConfigMap', 'guardgate-controller').data as Record<string, string>;
    writeFileSync(join(dir, 'up.yaml'), config['up.yaml']!);
    writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig, { mode: 0o600 });
    // `kubectl apply -k`: the environments and the front door as rendered (the controller runs here as `up`).
    for (const object of [...rendered['environments.yaml']!, ...rendered['front-door.yaml']!])
      cluster.api.store.create(structuredClone(object) as unknown as StoredObject);
    up = await startTestUp(tempDataDir(), {}, { config: join(dir, 'up.yaml'), kubeconfig: join(dir, 'kubeconfig'), adminHost: '127.0.0.1' }, loadReleaseSpec(SPEC));
    // The controller started at once, beside the rendered pods still starting (as after `kubectl apply -k`).
    await until(() => up.driver.describe('blue')?.instances.some((i) => i.state === 'ready') === true, 60_000, 'a ready blue pod');
    // kube-proxy learns of the ready pod a moment later: until then the Service has no endpoint.
    const live = cluster.serviceUrl('guardgate')!;
    await until(async () => (await fetch(`${live}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.ok === true, 30_000, 'the live Service answering from a blue pod');
  });
  afterAll(async () => {
    await up?.close();
    await cluster?.close();
  });

  it('starts with the rendered blue environment, object for object', () => {
    const store = cluster.api.store;
    const deployment = store.get('Deployment', 'default', 'guardgate-blue')!;
    // Adopted as it runs: never rewritten.
    expect(deployment.metadata.generation).toBe(1);
    const renderedDeployment = find('environments.yaml', 'Deployment', 'guardgate-blue') as unknown as { metadata: { labels: object; annotations: object }; spec: Record<string, unknown> };
    // As the API server stores what `kubectl apply` sent: with its defaults.
    const stored = structuredClone(renderedDeployment) as unknown as StoredObject;
    applyDefaults(stored);
    expect(deployment.spec.template).toEqual(stored.spec.template);
    expect(deployment.spec.replicas).toBe(renderedDeployment.spec.replicas);
    expect(deployment.metadata.annotations).toMatchObject(renderedDeployment.metadata.annotations);
    expect(store.get('ConfigMap', 'default', 'guardgate-blue')!.data).toEqual(find('environments.yaml', 'ConfigMap', 'guardgate-blue').data);
    for (const name of ['guardgate', 'guardgate-preview']) {
      const service = store.get('Service', 'default', name)!;
      const wanted = find('front-door.yaml', 'Service', name) as unknown as { spec: { selector: object; ports: object[] } };
      expect(service.spec.selector).toEqual(wanted.spec.selector);
      expect(service.spec.ports).toMatchObject(wanted.spec.ports);
    }
    // The standby is rendered at zero replicas: nothing of it runs.
    expect(up.driver.describe('green')).toBeNull();
  });

  it('serves the API keys of the rendered Secret in the pods, and nobody without one', async () => {
    const live = cluster.serviceUrl('guardgate')!;
    const allowed = await postJson(`${live}/predict`, { prompt: 'How do I bake bread?' }, { authorization: `Bearer ${apiKey}` });
    expect(allowed.status).toBe(200);
    expect(allowed.body.version).toBe('lexicon-v2');
    expect((await postJson(`${live}/predict`, { prompt: 'How do I bake bread?' })).status).toBe(401);
  });

  it('retires the old color as Git holds it: at zero replicas, its objects kept (a GitOps tool would bring a deleted one back)', async () => {
    await up.controller.release(
      quickSpec({ version: 'lexicon-v3', scaleDownDelay: '1s', gates: { load: { enabled: false }, watch: { durationSeconds: 1, minRequests: 0, onInconclusive: 'pass' } } }),
    );
    await up.controller.settled();
    const release = (await up.controller.status()).release!;
    expect(`${release.state}: ${release.note}`).toMatch(/^stable/);
    expect(release.version).toBe('lexicon-v3');
    const store = cluster.api.store;
    await until(
      () => store.get('Deployment', 'default', 'guardgate-blue')?.spec.replicas === 0 && store.list('Pod', 'default', 'app=guardgate,color=blue').length === 0,
      30_000,
      'blue retired to zero replicas, its pods gone',
    );
    for (const kind of ['Deployment', 'ConfigMap', 'Service']) expect(store.get(kind, 'default', 'guardgate-blue'), kind).toBeDefined();
    expect(store.get('Deployment', 'default', 'guardgate-blue')!.metadata.annotations!['guardgate.dev/retire']).toBe('scale-to-zero');
    // The Git-held color deploys again as usual at the next release.
    await up.controller.release(quickSpec({ version: 'lexicon-v4', gates: { load: { enabled: false }, watch: { durationSeconds: 1, minRequests: 0, onInconclusive: 'pass' } } }));
    await up.controller.settled();
    expect((await up.controller.status()).release).toMatchObject({ version: 'lexicon-v4', state: 'stable' });
    expect((await up.controller.status()).active).toBe('blue');
  });

  it('did nothing the rendered Role does not allow', () => {
    const role = find('controller.yaml', 'Role', 'guardgate-controller') as unknown as { rules: ReturnType<typeof controllerRules> };
    expect(role.rules).toEqual(controllerRules('service-selector', 'guardgate'));
    expect(outsideRole(cluster.api.requests, role.rules)).toEqual([]);
    // No write carried a field the API server drops.
    expect(cluster.api.warnings).toEqual([]);
  });
});
