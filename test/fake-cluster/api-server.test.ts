// The fake API server answers as Kubernetes does for what the driver uses: patches give what
// `kubectl patch --local` gives, a stale resourceVersion is a conflict, invalid objects are refused by
// the Kubernetes schemas and by the API server's own rules (names, labels, selectors), what it defaults is
// stored, watches stream changes and expire, and injected faults come back as statuses.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubectlWorks } from '../helpers/kubectl.js';
import { requireService } from '../helpers/services.js';
import { startApiServer, type ApiServer, type KubeObject } from './api-server.js';
import { applyDefaults } from './defaulting.js';

const deployment = (name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { app: 'x', tier: 'web' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'x' } },
    template: {
      metadata: { labels: { app: 'x' } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'i',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'd', image: 'j' },
        ],
      },
    },
  },
});

const PATCHES: Array<[string, 'merge' | 'strategic' | 'json', unknown]> = [
  ['labels and replicas', 'merge', { metadata: { labels: { tier: null, color: 'blue' } }, spec: { replicas: 3 } }],
  [
    'a merge patch replaces a list whole',
    'merge',
    { spec: { template: { spec: { containers: [{ name: 'c', image: 'i2' }] } } } },
  ],
  [
    'containers and env merged by name',
    'strategic',
    {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'c',
                image: 'i2',
                env: [
                  { name: 'B', value: '3' },
                  { name: 'C', value: '4' },
                ],
              },
            ],
          },
        },
      },
    },
  ],
  [
    'a container deleted by name',
    'strategic',
    { spec: { template: { spec: { containers: [{ name: 'd', $patch: 'delete' }] } } } },
  ],
  [
    'add, replace, remove',
    'json',
    [
      { op: 'replace', path: '/spec/replicas', value: 2 },
      { op: 'add', path: '/metadata/labels/color', value: 'green' },
      { op: 'remove', path: '/spec/template/spec/containers/1' },
      { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'Z', value: '9' } },
    ],
  ],
];

const CONTENT_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
} as const;

/** What the user wrote, without what the server keeps for itself. */
const userPart = (object: KubeObject) => {
  const {
    uid: _uid,
    resourceVersion: _rv,
    creationTimestamp: _ct,
    generation: _g,
    managedFields: _m,
    ...metadata
  } = object.metadata;
  const { status: _status, ...rest } = object;
  return { ...rest, metadata };
};

describe('the fake Kubernetes API server', () => {
  let api: ApiServer;
  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => api?.close());

  it.each(PATCHES)('%s (%s patch): the same result as kubectl patch --local', async (name, type, patch) => {
    if (!requireService(await kubectlWorks(), 'kubectl', () => undefined)) return;
    const objectName = `patch-${PATCHES.findIndex((p) => p[0] === name)}`;
    const created = await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment(objectName));
    expect(created.status).toBe(201);
    // What the server stored (with its defaults), patched as kubectl patches it.
    const original = userPart(created.body);
    const ours = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/default/deployments/${objectName}`,
      patch,
      CONTENT_TYPES[type],
    );
    expect(ours.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-kubectl-'));
    writeFileSync(join(dir, 'object.json'), JSON.stringify(original));
    const patched = await kubectl([
      'patch',
      '--local',
      '-f',
      join(dir, 'object.json'),
      '--type',
      type,
      '-p',
      JSON.stringify(patch),
      '-o',
      'json',
    ]);
    expect(patched.code, patched.output).toBe(0);
    const theirs = JSON.parse(patched.stdout) as KubeObject;
    // The server defaults what a patch brings (a new container's pull policy), as the real one does.
    applyDefaults(theirs);
    expect(userPart(ours.body)).toEqual(userPart(theirs));
  });

  it('applies server-side as the API server does: fields owned per manager, lists merged by their keys, conflicts refused unless forced, dropped fields removed', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/applied';
    const apply = (manager: string | undefined, object: unknown, force = false) =>
      call(
        'PATCH',
        `${path}?${manager === undefined ? '' : `fieldManager=${manager}`}${force ? '&force=true' : ''}`,
        object,
        'application/apply-patch+yaml',
      );
    const mine = deployment('applied');
    expect((await apply('guardgate', mine)).status).toBe(201);
    // Others: a GitOps tool's label (an apply), kubectl rollout restart (an update), an autoscaler (the scale subresource).
    const label = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'applied', labels: { 'argocd.argoproj.io/instance': 'moderation' } },
    };
    expect((await apply('argocd-controller', label)).status).toBe(200);
    const restartedAt = { 'kubectl.kubernetes.io/restartedAt': '2026-12-04T00:00:00Z' };
    const restart = { spec: { template: { metadata: { annotations: restartedAt } } } };
    expect((await call('PATCH', `${path}?fieldManager=kubectl-rollout`, restart, CONTENT_TYPES.strategic)).status).toBe(
      200,
    );
    expect(
      (await call('PUT', `${path}/scale?fieldManager=kube-controller-manager`, { spec: { replicas: 4 } })).status,
    ).toBe(200);

    // Ours again, with another replica count, env B and container d left out.
    const containers = [{ name: 'c', image: 'i', env: [{ name: 'A', value: '1' }] }];
    const again = {
      ...mine,
      spec: { ...mine.spec, replicas: 2, template: { ...mine.spec.template, spec: { containers } } },
    };
    const refused = await apply('guardgate', again);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      reason: 'Conflict',
      details: { causes: [{ field: '.spec.replicas', message: 'conflict with "kube-controller-manager"' }] },
    });

    const { replicas: _r, ...specWithoutReplicas } = again.spec;
    const applied = await apply('guardgate', { ...again, spec: specWithoutReplicas });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.spec.replicas).toBe(4);
    expect(applied.body.metadata.labels).toEqual({
      app: 'x',
      tier: 'web',
      'argocd.argoproj.io/instance': 'moderation',
    });
    expect(applied.body.spec.template.metadata.annotations).toEqual(restartedAt);
    expect(applied.body.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['c']);
    expect(applied.body.spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
    // The same apply again changes nothing.
    const same = await apply('guardgate', { ...again, spec: specWithoutReplicas });
    expect(same.body.metadata.resourceVersion).toBe(applied.body.metadata.resourceVersion);

    // Forced, the field changes hands.
    const forced = await apply('guardgate', again, true);
    expect(forced.status).toBe(200);
    expect(forced.body.spec.replicas).toBe(2);
    const owners = (
      forced.body.metadata.managedFields as Array<{ manager: string; operation: string; fieldsV1: any }>
    ).map((e) => [e.manager, e.operation, e.fieldsV1['f:spec']?.['f:replicas'] !== undefined]);
    expect(owners).toContainEqual(['guardgate', 'Apply', true]);
    expect(owners.filter(([, , replicas]) => replicas)).toHaveLength(1);

    expect((await apply(undefined, again)).status).toBe(422);
  });

  it("treats unknown fields as the API server's field validation does: dropped with a warning, or refused when Strict", async () => {
    const typo = deployment('typo');
    typo.spec.template.spec.containers[0].imagePullPolcy = 'Always';
    (typo.spec as Record<string, unknown>).replica = 3;
    const path = '/apis/apps/v1/namespaces/default/deployments';
    const strict = await call('POST', `${path}?fieldValidation=Strict`, typo);
    expect(strict).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
    expect(strict.body.message).toBe(
      'strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolcy"',
    );
    // The default (Warn): stored without them, a Warning header says which.
    const response = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(typo),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('warning')).toBe(
      '299 - "unknown field \\"spec.replica\\"", 299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\""',
    );
    const stored = (await response.json()) as KubeObject;
    expect(stored.spec.replica).toBeUndefined();
    expect(stored.spec.template.spec.containers[0].imagePullPolcy).toBeUndefined();
    expect(api.warnings.at(-1)).toEqual({
      method: 'POST',
      path,
      fields: ['spec.replica', 'spec.template.spec.containers[0].imagePullPolcy'],
    });
    // A patch is read the same way.
    const patched = await call('PATCH', `${path}/typo`, { spec: { pause: true } }, 'application/merge-patch+json');
    expect(patched.status).toBe(200);
    expect(patched.body.spec.pause).toBeUndefined();
    expect(api.warnings.at(-1)?.fields).toEqual(['spec.pause']);
    // A custom resource by its CRD's structural schema (Gateway API's HTTPRoute).
    const route = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'typo', namespace: 'default' },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 's', port: 80, wieght: 1 }] }] },
    };
    const routes = '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes';
    const refused = await call('POST', `${routes}?fieldValidation=Strict`, route);
    expect(refused.body.message).toBe('strict decoding error: unknown field "spec.rules[0].backendRefs[0].wieght"');
    const { wieght: _w, ...backend } = route.spec.rules[0]!.backendRefs[0]!;
    const fixed = { ...route, spec: { ...route.spec, rules: [{ backendRefs: [{ ...backend, weight: 1 }] }] } };
    expect((await call('POST', `${routes}?fieldValidation=Strict`, fixed)).status).toBe(201);
  });

  it('refuses a replace that names an older resourceVersion (409), and takes the current one', async () => {
    const created = (await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('conflict')))
      .body as KubeObject;
    const first = await call('PUT', '/apis/apps/v1/namespaces/default/deployments/conflict', {
      ...created,
      spec: { ...created.spec, replicas: 2 },
    });
    expect(first.status).toBe(200);
    expect(first.body.metadata.generation).toBe(2);
    const stale = await call('PUT', '/apis/apps/v1/namespaces/default/deployments/conflict', {
      ...created,
      spec: { ...created.spec, replicas: 5 },
    });
    expect(stale).toMatchObject({ status: 409, body: { kind: 'Status', reason: 'Conflict', code: 409 } });
    expect((await call('GET', '/apis/apps/v1/namespaces/default/deployments/conflict')).body.spec.replicas).toBe(2);
  });

  it('refuses an object the Kubernetes schema refuses (422), and a duplicate (409)', async () => {
    const invalid = deployment('invalid');
    invalid.spec.template.spec.containers[0].ports = [{ containerPort: 'eighty' }];
    const refused = await call('POST', '/apis/apps/v1/namespaces/default/deployments', invalid);
    expect(refused).toMatchObject({ status: 422, body: { reason: 'Invalid' } });
    expect(refused.body.message).toMatch(/containerPort must be integer/);
    expect((await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('twice'))).status).toBe(201);
    expect(
      (await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('twice'))).body,
    ).toMatchObject({ reason: 'AlreadyExists', code: 409 });
  });

  it('answers a dry run (dryRun=All) after every check, storing nothing; refuses what it would refuse; knows no other value', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments';
    const revision = api.store.resourceVersion;
    const created = await call('POST', `${path}?dryRun=All`, deployment('dry'));
    expect(created.status).toBe(201);
    expect(created.body.spec.strategy.type).toBe('RollingUpdate'); // defaulted, as it would be stored
    expect((await call('GET', `${path}/dry`)).status).toBe(404);
    const invalid = deployment('dry-invalid');
    invalid.spec.template.spec.containers[0].ports = [{ containerPort: 'eighty' }];
    expect((await call('POST', `${path}?dryRun=All`, invalid)).status).toBe(422);
    expect((await call('POST', path, deployment('dry-kept'))).status).toBe(201);
    const replaced = await call(
      'PATCH',
      `${path}/dry-kept?dryRun=All`,
      { spec: { replicas: 5 } },
      'application/merge-patch+json',
    );
    expect(replaced).toMatchObject({ status: 200, body: { spec: { replicas: 5 } } });
    expect((await call('GET', `${path}/dry-kept`)).body.spec.replicas).toBe(1);
    expect((await call('DELETE', `${path}/dry-kept?dryRun=All`)).status).toBe(200);
    expect((await call('GET', `${path}/dry-kept`)).status).toBe(200);
    expect(api.store.resourceVersion).toBe(revision + 1); // the one real create
    expect((await call('POST', `${path}?dryRun=Yes`, deployment('dry-bad'))).status).toBe(400);
  });

  it.each([
    [
      'a name that is no DNS-1123 subdomain',
      (d: KubeObject) => (d.metadata.name = 'Bad_Name'),
      /metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    ],
    [
      'a label value over 63 characters',
      (d: KubeObject) => (d.metadata.labels!.version = 'v'.repeat(64)),
      /metadata\.labels\.version: Invalid value/,
    ],
    [
      'a selector its template labels do not match',
      (d: KubeObject) => (d.spec.template.metadata.labels = { app: 'y' }),
      /`selector` does not match template `labels`/,
    ],
    [
      'two containers of one name',
      (d: KubeObject) => (d.spec.template.spec.containers[1].name = 'c'),
      /containers\[1\]\.name: Duplicate value: "c"/,
    ],
  ] as Array<[string, (d: KubeObject) => void, RegExp]>)(
    'refuses %s as the API server does (422)',
    async (_what, spoil, message) => {
      const object = deployment('spoiled');
      spoil(object);
      const refused = await call('POST', '/apis/apps/v1/namespaces/default/deployments', object);
      expect(refused).toMatchObject({ status: 422, body: { reason: 'Invalid' } });
      expect(refused.body.message).toMatch(/^Deployment\.apps "[^"]+" is invalid: /);
      expect(refused.body.message).toMatch(message);
    },
  );

  it("refuses a change of a Deployment's selector and a Service name that is no DNS-1035 label", async () => {
    const created = (await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('selector')))
      .body as KubeObject;
    created.spec.selector.matchLabels = { app: 'x', tier: 'web' };
    created.spec.template.metadata.labels = { app: 'x', tier: 'web' };
    const changed = await call('PUT', '/apis/apps/v1/namespaces/default/deployments/selector', created);
    expect(changed).toMatchObject({ status: 422 });
    expect(changed.body.message).toMatch(/spec\.selector: Invalid value: .*field is immutable/);
    const service = await call('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: '1st-service' },
      spec: { ports: [{ port: 80 }] },
    });
    expect(service).toMatchObject({ status: 422 });
    expect(service.body.message).toMatch(/a DNS-1035 label/);
  });

  it("stores what the API server defaults: a Deployment's strategy and limits, a Service's type, affinity and target port", async () => {
    const stored = (await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('defaults'))).body;
    expect(stored.spec).toMatchObject({
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      template: { spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 30 } },
    });
    expect(stored.spec.template.spec.containers[0]).toMatchObject({ imagePullPolicy: 'Always' }); // no tag: latest
    const service = (
      await call('POST', '/api/v1/namespaces/default/services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'defaults' },
        spec: { ports: [{ port: 80 }] },
      })
    ).body;
    expect(service.spec).toMatchObject({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }],
    });
  });

  it("stores a Secret's stringData as data (base64, its keys winning) and never returns stringData", async () => {
    const stored = (
      await call('POST', '/api/v1/namespaces/default/secrets', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'string-data' },
        data: { a: Buffer.from('old').toString('base64'), b: Buffer.from('kept').toString('base64') },
        stringData: { a: 'new' },
      })
    ).body;
    expect(stored).toMatchObject({ type: 'Opaque', data: { a: Buffer.from('new').toString('base64') } });
    expect(Buffer.from(stored.data.b, 'base64').toString()).toBe('kept');
    expect(stored.stringData).toBeUndefined();
    expect((await call('GET', '/api/v1/namespaces/default/secrets/string-data')).body.stringData).toBeUndefined();
  });

  it('admits pods as the API server does: the restricted Pod Security level where a namespace enforces it, and quotas', async () => {
    await call('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'gpu', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    const pod = (name: string, securityContext?: object, gpus = 1) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        containers: [
          {
            name: 'model',
            image: 'vllm:1',
            resources: { limits: { 'nvidia.com/gpu': String(gpus) } },
            ...(securityContext ? { securityContext } : {}),
          },
        ],
      },
    });
    const loose = await call('POST', '/api/v1/namespaces/gpu/pods', pod('loose'));
    expect(loose).toMatchObject({ status: 403, body: { reason: 'Forbidden' } });
    expect(loose.body.message).toMatch(
      /pods "loose" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "model" must set securityContext\.allowPrivilegeEscalation=false\), unrestricted capabilities .*runAsNonRoot != true .*seccompProfile/,
    );
    const restricted = {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    };
    await call('POST', '/api/v1/namespaces/gpu/resourcequotas', {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'gpus' },
      spec: { hard: { 'requests.nvidia.com/gpu': '2' } },
    });
    expect((await call('POST', '/api/v1/namespaces/gpu/pods', pod('first', restricted))).status).toBe(201);
    const over = await call('POST', '/api/v1/namespaces/gpu/pods', pod('second', restricted, 2));
    expect(over).toMatchObject({ status: 403 });
    expect(over.body.message).toBe(
      'pods "second" is forbidden: exceeded quota: gpus, requested: requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=2',
    );
    expect((await call('POST', '/api/v1/namespaces/gpu/pods', pod('third', restricted))).status).toBe(201);
  });

  it('streams changes to a watch from a resourceVersion, and answers 410 Gone for one it no longer keeps', async () => {
    const from = (await call('GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion as string;
    const response = await fetch(
      `${api.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${from}&labelSelector=watched%3Dyes`,
    );
    const reader = response.body!.getReader();
    await call('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ignored' },
      data: {},
    });
    await call('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'seen', labels: { watched: 'yes' } },
      data: { a: 'b' },
    });
    const { value } = await reader.read();
    const event = JSON.parse(Buffer.from(value!).toString('utf8').split('\n')[0]!) as {
      type: string;
      object: KubeObject;
    };
    expect(event).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'seen' } } });
    await reader.cancel();
    for (let i = 0; i < 2_100; i++)
      api.store.update('ConfigMap', 'default', 'ignored', (o) => (o.data = { i: String(i) }));
    const expired = await (
      await fetch(`${api.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${from}`)
    ).text();
    expect(JSON.parse(expired.split('\n')[0]!)).toMatchObject({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired' },
    });
  });

  it('answers injected faults with their status, then serves again', async () => {
    api.faults.add({ method: 'GET', path: /\/deployments$/, status: 429, count: 2 });
    expect((await call('GET', '/apis/apps/v1/namespaces/default/deployments')).status).toBe(429);
    expect((await call('GET', '/apis/apps/v1/namespaces/default/deployments')).status).toBe(429);
    expect((await call('GET', '/apis/apps/v1/namespaces/default/deployments')).status).toBe(200);
  });
});
