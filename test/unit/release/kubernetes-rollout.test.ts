// Rollouts judged as `kubectl rollout status` judges them, on Deployment statuses a real cluster writes; pods
// that ended (evicted, kept as Failed) or are terminating never count; every container of a pod is looked at.
import { describe, expect, it } from 'vitest';
import {
  crashLooping,
  podGone,
  rolloutOf,
  type KubeDeployment,
  type Pod,
} from '../../../src/drivers/kubernetes/rollout.js';

const deployment = (status: NonNullable<KubeDeployment['status']>, replicas = 3, generation = 2): KubeDeployment => ({
  metadata: { name: 'guardgate-blue', generation },
  spec: { replicas },
  status,
});
const full = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };

describe('a Deployment rollout', () => {
  it('is done when the generation is observed and every replica is updated and available, with no old one left', () => {
    expect(rolloutOf(deployment(full))).toEqual({ done: true });
  });

  it('waits for the generation to be observed, for updated replicas, for old ones to go, and for availability', () => {
    expect(rolloutOf(deployment({ ...full, observedGeneration: 1 }))).toEqual({
      done: false,
      waiting: "the Deployment's generation 2 not observed yet",
    });
    expect(rolloutOf(deployment({ ...full, updatedReplicas: 1 }))).toEqual({
      done: false,
      waiting: '1 of 3 new replicas updated',
    });
    expect(rolloutOf(deployment({ ...full, replicas: 4 }))).toEqual({
      done: false,
      waiting: '1 old replicas pending termination',
    });
    expect(rolloutOf(deployment({ ...full, availableReplicas: 2 }))).toEqual({
      done: false,
      waiting: '2 of 3 updated replicas available',
    });
  });

  it('fails at once on ProgressDeadlineExceeded and on ReplicaFailure (a pod refused at admission)', () => {
    const exceeded = {
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "guardgate-blue-5d9" has timed out progressing.',
    };
    expect(rolloutOf(deployment({ ...full, availableReplicas: 1, conditions: [exceeded] }))).toEqual({
      done: false,
      failed: 'ProgressDeadlineExceeded: ReplicaSet "guardgate-blue-5d9" has timed out progressing.',
    });
    const refused = {
      type: 'ReplicaFailure',
      status: 'True',
      reason: 'FailedCreate',
      message: 'pods "guardgate-blue-5d9-x" is forbidden: exceeded quota: gpu, requested: nvidia.com/gpu=1',
    };
    expect(
      rolloutOf(deployment({ ...full, updatedReplicas: 0, availableReplicas: 0, conditions: [refused] })),
    ).toMatchObject({ done: false, failed: expect.stringMatching(/^ReplicaFailure FailedCreate: .*exceeded quota/) });
  });
});

describe('the pods of a rollout', () => {
  const pod = (status: NonNullable<Pod['status']>, deleting = false): Pod => ({
    metadata: { name: 'p', ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status,
  });
  const container = (restartCount: number, ready = false, name = 'guardgate') => ({ name, ready, restartCount });

  it('evicted (Failed), succeeded and terminating pods are gone: they neither serve nor count', () => {
    expect(podGone(pod({ phase: 'Failed', reason: 'Evicted' }))).toBe(true);
    expect(podGone(pod({ phase: 'Succeeded' }))).toBe(true);
    expect(podGone(pod({ phase: 'Running' }, true))).toBe(true);
    expect(podGone(pod({ phase: 'Running' }))).toBe(false);
  });

  it('a crash loop in any container, the model-server sidecar included; never in a pod that is gone', () => {
    const sidecar = pod({
      phase: 'Running',
      containerStatuses: [container(0, true), container(4, false, 'model-server')],
    });
    expect(crashLooping([sidecar], 3)?.container.name).toBe('model-server');
    expect(crashLooping([pod({ phase: 'Running', containerStatuses: [container(2)] })], 3)).toBeUndefined();
    expect(crashLooping([pod({ phase: 'Running', containerStatuses: [container(5, true)] })], 3)).toBeUndefined(); // restarted, but serving now
    expect(
      crashLooping([pod({ phase: 'Failed', reason: 'Evicted', containerStatuses: [container(5)] })], 3),
    ).toBeUndefined();
  });
});
