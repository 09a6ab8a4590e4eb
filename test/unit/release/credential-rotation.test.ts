// A credential rotation's decisions, with the pods and the Secret in memory: which pods must accept the new values
// before the old go, which cannot be asked (and how long they are given), and when a rotation may not begin.
// The whole rotation against pods on a fake cluster: test/release/up-kubernetes.test.ts.
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { InstanceInfo } from '../../../src/drivers/driver.js';
import {
  CredentialRotator,
  type PodAnswer,
  type RotationParts,
  type RotationRecord,
} from '../../../src/drivers/kubernetes/rotation.js';
import type { Color } from '../../../src/vocabulary/colors.js';

type Data = Record<string, string>;
const b64 = (value: string) => Buffer.from(value).toString('base64');
const text = (value: string) => Buffer.from(value, 'base64').toString('utf8');

/** The Secret `app-credentials` alone, as the API server keeps it: read and merge-patched. */
function secretApi(initial: Data): { api: KubernetesObjectApi; data: () => Data } {
  let data: Data = Object.fromEntries(Object.entries(initial).map(([k, v]) => [k, b64(v)]));
  const api = {
    read: async () => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-credentials' }, data }),
    patch: async (object: { data: Record<string, string | null> }) => {
      const next: Data = { ...data };
      for (const [key, value] of Object.entries(object.data))
        if (value === null) delete next[key];
        else next[key] = value;
      data = next;
      return object;
    },
  } as unknown as KubernetesObjectApi;
  return { api, data: () => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, text(v)])) };
}

/** A pod: whether it answers, and whether it has the new values yet (its kubelet refreshed its Secret). */
interface FakePod extends InstanceInfo {
  answers: boolean;
  hasNew: boolean;
}

function rotation(pods: FakePod[], colors: Color[], overrides: Partial<RotationParts> = {}) {
  const secret = secretApi({ 'admin-token': 'a', 'gate-token': 'old-gate', 'router-secret': 'old-router' });
  const records: RotationRecord[] = [];
  const written: Data[] = [];
  const parts: RotationParts = {
    api: secret.api,
    namespace: 'default',
    app: 'app',
    writePodSecret: async (values) => {
      written.push(values);
    },
    pods: () => ({ colors, pods }),
    accepts: async (url): Promise<PodAnswer> => {
      const pod = pods.find((p) => p.url === url)!;
      if (!pod.answers) return { ok: false, answer: 'ECONNREFUSED', reached: false };
      return pod.hasNew
        ? { ok: true, answer: 'accepted', reached: true }
        : { ok: false, answer: 'not known there', reached: true };
    },
    use: () => undefined,
    blocked: async () => undefined,
    record: async (record) => {
      records.push(record);
    },
    deadlineMs: 2_000,
    pollMs: 10,
    kubeletSyncMs: 300,
    log: pino({ level: 'silent' }),
    ...overrides,
  };
  return { rotator: new CredentialRotator(parts), secret, records, written };
}

const pod = (name: string, state: InstanceInfo['state'], answers: boolean, hasNew: boolean): FakePod => ({
  url: `http://${name}:8000`,
  name,
  state,
  restarts: state === 'restarting' ? 4 : 0,
  answers,
  hasNew,
});

describe('a credential rotation', () => {
  it('is refused before it begins when a color is deployed and none of its pods is ready: nothing could confirm it', async () => {
    const { rotator, secret, records, written } = rotation([pod('blue-1', 'restarting', false, false)], ['blue']);
    await expect(rotator.rotate('admin_token:admin')).rejects.toMatchObject({
      code: 'invalid_state',
      message: expect.stringContaining('no pod of blue is ready'),
    });
    // Nothing was written: the pods and the kept credentials are as they were.
    expect(written).toEqual([]);
    expect(secret.data()['next-gate-token']).toBeUndefined();
    expect(rotator.pendingSince).toBeUndefined();
    expect(records).toMatchObject([{ actor: 'admin_token:admin', outcome: 'failed' }]);
  });

  it('runs where nothing is deployed yet: the next pods start with the new values', async () => {
    const { rotator, secret } = rotation([], []);
    const report = await rotator.rotate('admin_token:admin');
    expect(report).toMatchObject({ pods: [], unverified: [] });
    expect(secret.data()['gate-token']).not.toBe('old-gate');
  });

  it('waits for a pod that is not ready but answers, as for a ready one: it fails naming it when it keeps the old values', async () => {
    const { rotator, secret, records } = rotation(
      [pod('blue-1', 'ready', true, true), pod('blue-2', 'starting', true, false)],
      ['blue'],
      { deadlineMs: 500 },
    );
    await expect(rotator.rotate('jwt:ops')).rejects.toMatchObject({
      code: 'propagation_timeout',
      message: expect.stringContaining('blue-2 (not known there)'),
    });
    // Both values stay accepted, and that is visible: since when, and in the history.
    const kept = secret.data();
    expect(kept['gate-token']).toBe('old-gate');
    expect(kept['next-gate-token']).toBeDefined();
    expect(Date.parse(kept['next-since']!)).toBeGreaterThan(Date.now() - 60_000);
    expect(rotator.pendingSince).toBe(kept['next-since']);
    expect(records).toMatchObject([{ actor: 'jwt:ops', outcome: 'failed', reason: expect.stringContaining('blue-2') }]);
  });

  it('gives a pod that cannot be asked (not ready, not listening) a kubelet sync period, then names it unverified', async () => {
    const pods = [pod('blue-1', 'ready', true, true), pod('blue-2', 'restarting', false, false)];
    const { rotator, secret, records } = rotation(pods, ['blue']);
    const started = Date.now();
    const report = await rotator.rotate('admin_token:admin');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(report).toMatchObject({ pods: ['blue-1'], unverified: ['blue-2'], resumed: false });
    expect(secret.data()['next-gate-token']).toBeUndefined();
    expect(secret.data()['next-since']).toBeUndefined();
    expect(rotator.pendingSince).toBeUndefined();
    expect(records).toMatchObject([{ outcome: 'done', report: { unverified: ['blue-2'] } }]);
  });

  it('confirms a pod that starts answering within the sync period, and does not wait the period out for it', async () => {
    const late = pod('blue-2', 'starting', false, true);
    const { rotator } = rotation([pod('blue-1', 'ready', true, true), late], ['blue'], { kubeletSyncMs: 60_000 });
    setTimeout(() => (late.answers = true), 100);
    const report = await rotator.rotate('admin_token:admin');
    expect(report).toMatchObject({ pods: ['blue-1', 'blue-2'], unverified: [] });
    expect(report.seconds).toBeLessThan(30);
  });

  it('goes on with the same new values when asked again, keeping when it began', async () => {
    const slow = pod('green-1', 'ready', true, false);
    const { rotator, secret } = rotation([slow], ['green'], { deadlineMs: 100 });
    await expect(rotator.rotate('admin_token:admin')).rejects.toMatchObject({ code: 'propagation_timeout' });
    const midway = secret.data();
    slow.hasNew = true;
    const report = await rotator.rotate('admin_token:admin');
    expect(report.resumed).toBe(true);
    expect(secret.data()['gate-token']).toBe(midway['next-gate-token']);
  });
});
