// The controller Lease against any API server: the fake cluster (kubernetes-lease.test.ts) and a real one
// (kubernetes-real.test.ts, with KUBECONFIG). What it reads, it reads through the API, as another controller
// would: never the fake's own store.
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaderLease } from '../../src/drivers/kubernetes/lease.js';
import { readObject } from '../../src/drivers/kubernetes/objects.js';
import { until } from '../helpers/router.js';

const silent = pino({ level: 'silent' });
/** How long the test's Lease lasts and how often it is renewed. */
export interface LeaseTiming {
  leaseMs: number;
  renewMs: number;
}

/** Short enough for a test, long enough for a real API server's round trips (renew deadline 2 s). */
const REAL_CLUSTER: LeaseTiming = { leaseMs: 3_000, renewMs: 500 };

export function runLeaseContract(
  name: string,
  where: () => { api: KubernetesObjectApi; namespace: string },
  timing: LeaseTiming = REAL_CLUSTER,
): void {
  describe(`the controller Lease: ${name}`, () => {
    const leaseName = `guardgate-test-lease-${process.pid}`;
    const lease = (identity: string) => {
      const { api, namespace } = where();
      return new LeaderLease(api, { namespace, name: leaseName, identity, ...timing }, silent);
    };
    /** The Lease as another controller reads it: its holder and when it was last renewed. */
    const read = async () => {
      const { api, namespace } = where();
      const found = await readObject<{
        apiVersion: string;
        kind: string;
        spec?: { holderIdentity?: string; renewTime?: string };
      }>(api, 'coordination.k8s.io/v1', 'Lease', namespace, leaseName);
      return found?.spec;
    };
    const holder = async () => (await read())?.holderIdentity;

    // Nothing left behind in a real cluster's namespace.
    afterAll(async () => {
      const { api, namespace } = where();
      await api
        .delete({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: leaseName, namespace } })
        .catch(() => undefined);
    });

    it('a second controller waits while the first renews, and takes over the moment it frees the Lease', async () => {
      const first = lease('first');
      const lost: string[] = [];
      await first.acquire((why) => lost.push(why));
      expect(await holder()).toBe('first');
      let secondHolds = false;
      const second = lease('second');
      const waiting = second.acquire(() => undefined).then(() => (secondHolds = true));
      try {
        // Renewed for three lease durations' worth of renewals while the second waits: it must still be waiting.
        const renewals = new Set<string>();
        const wanted = (3 * timing.leaseMs) / timing.renewMs;
        await until(
          async () => {
            const renewTime = (await read())?.renewTime;
            if (renewTime !== undefined) renewals.add(renewTime);
            return renewals.size > wanted;
          },
          60_000,
          `${wanted} renewals of the first controller's Lease`,
        );
        expect(secondHolds).toBe(false);
        expect(lost).toEqual([]);
        expect(first.holding).toBe(true);
        expect(await holder()).toBe('first');
        // Freed (its holder emptied, not left to expire), it is the second's at the second's next try.
        await first.release();
        expect(['', 'second']).toContain(await holder());
        await waiting;
        expect(await holder()).toBe('second');
      } finally {
        await first.release();
        await second.release();
      }
    }, 60_000);
  });
}
