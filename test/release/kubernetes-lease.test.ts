// One controller acts at a time: the Lease is taken only when free, expired or already held; a second
// controller waits while the first renews, takes over the moment it frees the Lease, and one that cannot
// renew says it lost it (and must stop) once the Lease would have expired.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesApi } from '../../src/release/drivers/kubernetes.js';
import { LeaderLease, mayTake } from '../../src/release/drivers/kubernetes-lease.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { until } from '../helpers/router.js';

const silent = pino({ level: 'silent' });

describe('mayTake', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it('a free, expired or own lease may be taken; one renewed within its duration by another may not', () => {
    expect(mayTake(undefined, 'a', now)).toBe(true);
    expect(mayTake({ holderIdentity: '' }, 'a', now)).toBe(true);
    expect(mayTake({ holderIdentity: 'a', renewTime: '2026-11-30T11:59:59Z', leaseDurationSeconds: 15 }, 'a', now)).toBe(true);
    expect(mayTake({ holderIdentity: 'b', renewTime: '2026-11-30T11:59:50Z', leaseDurationSeconds: 15 }, 'a', now)).toBe(false);
    expect(mayTake({ holderIdentity: 'b', renewTime: '2026-11-30T11:59:40Z', leaseDurationSeconds: 15 }, 'a', now)).toBe(true);
  });
});

describe('the controller Lease on the fake cluster', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster();
  });
  afterAll(async () => cluster?.close());

  const lease = (identity: string, name: string) => new LeaderLease(kubernetesApi(cluster.kubeconfig, 0), { namespace: 'default', name, identity, leaseMs: 1_500, renewMs: 200 }, silent);
  const holder = (name: string) => (cluster.api.store.get('Lease', 'default', name)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

  it('a second controller waits while the first renews, and takes over when it frees the Lease', async () => {
    const first = lease('first', 'handover');
    await first.acquire(() => undefined);
    expect(holder('handover')).toBe('first');
    let secondHolds = false;
    const second = lease('second', 'handover');
    const waiting = second.acquire(() => undefined).then(() => (secondHolds = true));
    // Well past the lease duration: the first renews, so the second must still wait.
    await until(() => cluster.api.requests.filter((r) => r.method === 'PUT' && r.path.includes('/leases/handover')).length >= 12, 10_000);
    expect(secondHolds).toBe(false);
    expect(holder('handover')).toBe('first');
    await first.release();
    await waiting;
    expect(holder('handover')).toBe('second');
    await second.release();
  });

  it('a controller that cannot renew says it lost the Lease once it would have expired, and another takes it', async () => {
    const first = lease('first', 'lost');
    const lost: string[] = [];
    await first.acquire((why) => lost.push(why));
    cluster.api.faults.add({ method: 'PUT', path: /\/leases\/lost$/, status: 500, count: 1_000 });
    try {
      await until(() => lost.length === 1, 10_000);
    } finally {
      cluster.api.faults.clear();
    }
    expect(lost[0]).toMatch(/could not renew the lease for 1500 ms/);
    const second = lease('second', 'lost');
    await second.acquire(() => undefined);
    expect(holder('lost')).toBe('second');
    await second.release();
  });
});
