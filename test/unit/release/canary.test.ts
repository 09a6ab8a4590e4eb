// The canary step's judgement and the router's split: pure decisions.
import { describe, expect, it } from 'vitest';
import { bucketsSince, judgeCanaryStep, P99_MIN_REQUESTS, type SideFigures } from '../../../src/gates/canary.js';
import { routeRequest, type TrafficPolicy } from '../../../src/router/routing.js';

const rule = {
  mirrorFraction: 0.2,
  maxErrorRateIncrease: 0.01,
  maxP99Ratio: 3,
  minAgreement: 0.95,
  maxUnsafeToSafe: 0,
  onInconclusive: 'fail' as const,
};
const step = { weight: 10, durationSeconds: 30, minRequests: 50, minSamples: 20, pause: false };
const side = (requests: number, errors: number, p99Ms: number | null): SideFigures => ({
  requests,
  errors,
  errorRate: requests === 0 ? 0 : errors / requests,
  p99Ms,
  p99Requests: requests,
});
const agreeing = { samples: 40, agreement: 1, unsafeToSafe: 0 };

describe('a canary step is judged on both sides of the same window', () => {
  it('passes a candidate like the stable version, at the end of the step', () => {
    expect(judgeCanaryStep(rule, step, side(200, 0, 25), side(800, 0, 10), agreeing, true)).toEqual({
      reasons: [],
      inconclusive: false,
    });
  });

  it('fails at once on an Unsafe-to-Safe flip or more errors than the stable version, before the step has lasted', () => {
    expect(
      judgeCanaryStep(rule, step, side(60, 0, 10), side(240, 0, 10), { ...agreeing, unsafeToSafe: 1 }, false).reasons,
    ).toEqual(['1 Unsafe-to-Safe flips; at most 0 allowed']);
    expect(judgeCanaryStep(rule, step, side(100, 5, 10), side(400, 4, 10), agreeing, false).reasons[0]).toMatch(
      /error rate 5.00% against the stable 1.00%/,
    );
    // Errors judged only on enough requests: 2 of 10 is not yet evidence.
    expect(judgeCanaryStep(rule, step, side(10, 2, 10), side(40, 0, 10), agreeing, false)).toEqual({
      reasons: [],
      inconclusive: true,
    });
  });

  it('judges agreement and p99 at the end only, and p99 only on enough requests', () => {
    const slow = side(P99_MIN_REQUESTS, 0, 250);
    expect(judgeCanaryStep(rule, step, slow, side(4 * P99_MIN_REQUESTS, 0, 50), agreeing, false).reasons).toEqual([]);
    expect(judgeCanaryStep(rule, step, slow, side(4 * P99_MIN_REQUESTS, 0, 50), agreeing, true).reasons).toEqual([
      'p99 250 ms against the stable 50 ms (at most 3×)',
    ]);
    expect(
      judgeCanaryStep(rule, step, { ...slow, p99Requests: 20 }, side(4 * P99_MIN_REQUESTS, 0, 50), agreeing, true)
        .reasons,
    ).toEqual([]);
    expect(
      judgeCanaryStep(rule, step, side(200, 0, 10), side(800, 0, 10), { ...agreeing, agreement: 0.9 }, true).reasons,
    ).toEqual(['agreement 90.0% is under 95.0%']);
  });

  it('reads a histogram over a window', () => {
    expect(
      bucketsSince(
        [
          [0.01, 30],
          [0.025, 50],
          [Infinity, 52],
        ],
        [
          [0.01, 10],
          [0.025, 12],
          [Infinity, 12],
        ],
      ),
    ).toEqual([
      [0.01, 20],
      [0.025, 38],
      [Infinity, 40],
    ]);
  });
});

describe('the router mirrors a canary request back to the active color', () => {
  const policy: TrafficPolicy = {
    active: 'blue',
    standbyWeight: 30,
    stickyHeader: null,
    mirrorFraction: 0.5,
    failover: false,
    epoch: '1',
  };
  it('splits by weight, and mirrors both sides by the mirror draw', () => {
    expect(routeRequest(policy, { preview: false, stickyKey: undefined, splitDraw: 0.1, mirrorDraw: 0.2 })).toEqual({
      color: 'green',
      reason: 'canary',
      mirror: true,
    });
    expect(routeRequest(policy, { preview: false, stickyKey: undefined, splitDraw: 0.1, mirrorDraw: 0.7 }).mirror).toBe(
      false,
    );
    expect(routeRequest(policy, { preview: false, stickyKey: undefined, splitDraw: 0.5, mirrorDraw: 0.2 })).toEqual({
      color: 'blue',
      reason: 'active',
      mirror: true,
    });
  });
});
