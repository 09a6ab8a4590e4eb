// How each traffic mode makes a canary's share: Gateway API route weights to the percent, Service selector
// replica ratios as near as pod counts come (and refused where none comes near), and the counts a canary reads
// from instances when no router is in the path.
import { describe, expect, it } from 'vitest';
import {
  cannotSplitByReplicas,
  nearestSplit,
  SPLIT_TOLERANCE_POINTS,
} from '../../../src/drivers/kubernetes/replica-split.js';
import { httpRoute } from '../../../src/drivers/kubernetes/gateway.js';
import { endpointsSpreadOver } from '../../../src/drivers/kubernetes/propagation.js';
import { carriedOver, snapshotOf } from '../../../src/gates/instances-probe.js';
import { sampleCount } from '../../../src/gates/replay-mirror.js';

describe('a canary by replica ratio (traffic service-selector)', () => {
  it('gives the candidate the pod count whose share of all pods is nearest the weight; the live color keeps its pods', () => {
    expect(nearestSplit(50, 2, 4)).toEqual({ replicas: 2, share: 50 });
    expect(nearestSplit(20, 4, 4)).toEqual({ replicas: 1, share: 20 });
    expect(nearestSplit(33, 4, 4).replicas).toBe(2);
    expect(nearestSplit(90, 1, 3)).toEqual({ replicas: 3, share: 75 }); // capped at the release's replicas
  });

  it('refuses weights no pod count comes near, naming the shares it can make', () => {
    expect(cannotSplitByReplicas([20, 50, 100], 4, 4)).toBeUndefined();
    const why = cannotSplitByReplicas([5, 25, 50], 1, 2)!;
    expect(why).toMatch(/beside 1 stable pod\(s\), up to 2 candidate pod\(s\) make 50%, 67% of new connections/);
    expect(why).toMatch(/weight 5 is 50% at best, weight 25 is 50% at best/);
    expect(why).not.toMatch(/weight 50 /);
    // Within the tolerance counts as made.
    expect(cannotSplitByReplicas([20 + SPLIT_TOLERANCE_POINTS], 4, 1)).toBeUndefined();
    expect(cannotSplitByReplicas([20 + SPLIT_TOLERANCE_POINTS + 1], 4, 1)).toMatch(/weight 26 is 20% at best/);
  });

  it('a split has propagated once the Service names ready pods of both colors', () => {
    expect(endpointsSpreadOver(new Set(['b1', 'g1']), { blue: ['b1'], green: ['g1', 'g2'] })).toBeUndefined();
    expect(endpointsSpreadOver(new Set(['b1']), { blue: ['b1'], green: ['g1'] })).toBe(
      'its EndpointSlices name no ready pod of green',
    );
  });
});

describe('a canary by route weights (traffic gateway-api)', () => {
  it('sends the standby its weight and the active color the rest', () => {
    const route = httpRoute({ namespace: 'ns', app: 'gg' }, { gateway: { name: 'gw' } }, 'blue', undefined, 25);
    expect(route.spec.rules.at(-1)!.backendRefs).toEqual([
      { name: 'gg-blue', port: 80, weight: 75 },
      { name: 'gg-green', port: 80, weight: 25 },
    ]);
    expect(
      httpRoute({ namespace: 'ns', app: 'gg' }, { gateway: { name: 'gw' } }, 'green').spec.rules[0]!.backendRefs,
    ).toEqual([
      { name: 'gg-green', port: 80, weight: 100 },
      { name: 'gg-blue', port: 80, weight: 0 },
    ]);
  });
});

describe("a canary's counts read from the instances", () => {
  const exposition = (
    live: number,
    evidence: number,
  ) => `http_request_duration_seconds_count{route="/predict",method="POST",status_code="200",traffic="live"} ${live}
http_request_duration_seconds_count{route="/predict",method="POST",status_code="200",traffic="evidence"} ${evidence}
http_request_duration_seconds_count{route="/predict",method="POST",status_code="200",traffic="mirror"} 7
`;

  it("count users' requests only: not the gates' evidence, not mirrored copies", () => {
    expect(snapshotOf(exposition(10, 500)).total).toBe(10);
  });

  it('keep what a restarted instance counted before it restarted: the running total never goes down', () => {
    const empty = { total: 0, errors: 0, buckets: [] };
    const last = new Map([
      ['a', { total: 40, errors: 2, buckets: [] }],
      ['b', { total: 10, errors: 0, buckets: [] }],
    ]);
    const now = new Map([
      ['a', { total: 3, errors: 0, buckets: [] }], // restarted
      ['b', { total: 12, errors: 0, buckets: [] }],
    ]);
    const carried = carriedOver(empty, last, now);
    expect(carried).toMatchObject({ total: 40, errors: 2 });
    expect(carriedOver(carried, now, now)).toBe(carried);
  });

  it('replays a share of the live texts seen, at least one, at most a bounded sample', () => {
    expect(sampleCount(0, 0.2)).toBe(0);
    expect(sampleCount(3, 0.2)).toBe(1);
    expect(sampleCount(100, 0.2)).toBe(20);
    expect(sampleCount(1_000, 1)).toBe(50);
    expect(sampleCount(10, 0)).toBe(0);
  });
});
