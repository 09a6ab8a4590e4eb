// The fake API server answers as Kubernetes does for what the driver uses: patches give what
// `kubectl patch --local` gives, a stale resourceVersion is a conflict, invalid objects are refused by
// the Kubernetes schemas, watches stream changes and expire, and injected faults come back as statuses.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '../helpers/services.js';
import { startApiServer, type ApiServer, type KubeObject } from './api-server.js';

const kubectlWorks = (): boolean => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

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
  const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, generation: _g, ...metadata } = object.metadata;
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
    if (!requireService(kubectlWorks(), 'kubectl', () => undefined)) return;
    const objectName = `patch-${PATCHES.findIndex((p) => p[0] === name)}`;
    const original = deployment(objectName);
    expect((await call('POST', '/apis/apps/v1/namespaces/default/deployments', original)).status).toBe(201);
    const ours = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/default/deployments/${objectName}`,
      patch,
      CONTENT_TYPES[type],
    );
    expect(ours.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-kubectl-'));
    writeFileSync(join(dir, 'object.json'), JSON.stringify(original));
    const theirs = JSON.parse(
      execFileSync(
        'kubectl',
        ['patch', '--local', '-f', join(dir, 'object.json'), '--type', type, '-p', JSON.stringify(patch), '-o', 'json'],
        { encoding: 'utf8' },
      ),
    ) as KubeObject;
    expect(userPart(ours.body)).toEqual(userPart(theirs));
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
