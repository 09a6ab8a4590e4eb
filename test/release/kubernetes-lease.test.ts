// One controller acts at a time: the Lease is taken only when free, expired or already held; a second
// controller waits while the first renews, takes over the moment it frees the Lease, and one that cannot
// renew says it lost it (and must stop) once the Lease would have expired.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesApi } from '../../src/drivers/kubernetes/api.js';
import { LeaderLease, mayTake, observe } from '../../src/drivers/kubernetes/lease.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { runCli } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { runLeaseContract } from './lease-contract.js';

const silent = pino({ level: 'silent' });

describe("mayTake (client-go semantics: expiry by the observer's own clock)", () => {
  const lease = (holderIdentity: string, renewTime: string) => ({
    holderIdentity,
    renewTime,
    leaseDurationSeconds: 15,
  });
  it('a free or own lease may be taken at once', () => {
    const seen = observe(undefined, undefined, 0);
    expect(mayTake(undefined, 'a', seen, 0)).toBe(true);
    expect(mayTake({ holderIdentity: '' }, 'a', observe(undefined, { holderIdentity: '' }, 0), 0)).toBe(true);
    expect(
      mayTake(lease('a', '2026-11-30T11:59:59Z'), 'a', observe(undefined, lease('a', '2026-11-30T11:59:59Z'), 0), 0),
    ).toBe(true);
  });

  it("another's lease only once its record has not changed for its duration since it was seen, whatever its renewTime says", () => {
    // The holder's clock is an hour behind: its renewTime looks long expired, but it renews (the record changes).
    let seen = observe(undefined, lease('b', '2026-11-30T11:00:00Z'), 0);
    expect(mayTake(lease('b', '2026-11-30T11:00:00Z'), 'a', seen, 10_000)).toBe(false);
    seen = observe(seen, lease('b', '2026-11-30T11:00:05Z'), 12_000);
    expect(mayTake(lease('b', '2026-11-30T11:00:05Z'), 'a', seen, 26_000)).toBe(false); // 14 s after the change
    expect(mayTake(lease('b', '2026-11-30T11:00:05Z'), 'a', seen, 27_000)).toBe(true); // unchanged for 15 s
    // The holder's clock is an hour ahead: its renewTime is in the future, yet a holder that stopped loses the lease.
    const ahead = observe(undefined, lease('c', '2026-11-30T13:00:00Z'), 0);
    expect(mayTake(lease('c', '2026-11-30T13:00:00Z'), 'a', ahead, 15_000)).toBe(true);
  });

  it('a holder must stop before another may take over: the renew deadline is shorter than the lease', () => {
    expect(
      () =>
        new LeaderLease(
          {} as never,
          { namespace: 'd', name: 'n', identity: 'a', leaseMs: 3_000, renewMs: 1_000, renewDeadlineMs: 3_000 },
          silent,
        ),
    ).toThrow(/renew deadline \(3000 ms\) must be shorter than its duration/);
    expect(
      () =>
        new LeaderLease(
          {} as never,
          { namespace: 'd', name: 'n', identity: 'a', leaseMs: 3_000, renewMs: 2_500 },
          silent,
        ),
    ).toThrow(/renew period \(2500 ms\) must be shorter than its renew deadline \(2000 ms\)/);
  });
});

describe('the controller Lease on the fake cluster', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster();
  });
  afterAll(async () => cluster?.close());

  // What a real cluster runs too (kubernetes-real.test.ts): the handover, read through the API.
  runLeaseContract('fake cluster', () => ({ api: kubernetesApi(cluster.kubeconfig, 0), namespace: 'default' }), {
    leaseMs: 1_500,
    renewMs: 200,
  });

  const lease = (identity: string, name: string) =>
    new LeaderLease(
      kubernetesApi(cluster.kubeconfig, 0),
      { namespace: 'default', name, identity, leaseMs: 1_500, renewMs: 200 },
      silent,
    );
  const holder = (name: string) =>
    (cluster.api.store.get('Lease', 'default', name)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

  /** `guardgate up` on the fake cluster, as a Deployment runs it: app `app`, a Lease of 600 s (never left to expire). */
  const startUp = (app: string, moreYaml = '') => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-lease-up-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig, { mode: 0o600 });
    const yaml = `driver: kubernetes\nkubernetes:\n  kubeconfig: ${join(dir, 'kubeconfig')}\n  app: ${app}\n  image: guardgate:test\n  leaseSeconds: 600\n${moreYaml}`;
    writeFileSync(join(dir, 'up.yaml'), yaml);
    return runCli(['up', '-c', join(dir, 'up.yaml'), '--port', '0', '--admin-port', '0', '--data-dir', tempDataDir()]);
  };

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
    expect(lost[0]).toMatch(/could not renew the lease within its renew deadline of 1000 ms \(.*injected fault.*\)/s);
    const second = lease('second', 'lost');
    await second.acquire(() => undefined);
    expect(holder('lost')).toBe('second');
    await second.release();
  });

  it('a renew call that hangs: the holder stops acting at its renew deadline, before another may take the lease', async () => {
    const first = lease('first', 'hung');
    let lostAt = 0;
    await first.acquire(() => (lostAt = performance.now()));
    // The next writes of the lease hang for a minute (a black-holed connection): none answers before the deadline.
    cluster.api.faults.add({ method: 'PUT', path: /\/leases\/hung$/, hangMs: 60_000, count: 5 });
    const second = lease('second', 'hung');
    let tookAt = 0;
    const taking = second.acquire(() => undefined).then(() => (tookAt = performance.now()));
    await until(() => lostAt > 0, 5_000, 'the first controller saying it lost the lease');
    expect(first.holding).toBe(false);
    await taking;
    expect(holder('hung')).toBe('second');
    // The first had stopped before the second could take over (renewDeadline 1 s < lease 1.5 s).
    expect(tookAt).toBeGreaterThan(lostAt);
    cluster.api.faults.clear();
    await second.release();
  });

  it('an up that fails after taking the Lease (a secret its configuration names is not set) frees it: the next need not wait for it to expire', async () => {
    const up = startUp('failed-start', 'auth:\n  jwt:\n    secret: { env: GG_TEST_UNSET_JWT_SECRET }\n');
    expect(await up.exited).toBe(2);
    expect(up.stderr()).toContain('GG_TEST_UNSET_JWT_SECRET is not set');
    // It had taken the Lease (it acts only once it holds it), and gave it back as it failed.
    expect(cluster.api.store.get('Lease', 'default', 'failed-start-controller')).toBeDefined();
    expect(holder('failed-start-controller')).toBe('');
  });

  it('an up stopped (SIGTERM) while it starts, after taking the Lease, frees it and exits 0', async () => {
    const up = startUp('stopped-start');
    // Stopped the moment it holds the Lease: it is still starting (its environment not yet deployed).
    await until(() => (holder('stopped-start-controller') ?? '') !== '', 60_000, 'the up holding the Lease');
    up.child.kill('SIGTERM');
    expect(await up.exited, up.stderr()).toBe(0);
    expect(up.stdout()).not.toContain('guardgate is up');
    // Given back as it stopped: the next controller need not wait the Lease's 600 s.
    expect(holder('stopped-start-controller')).toBe('');
  });
});
