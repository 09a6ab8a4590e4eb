// The router's pure decisions: which color serves, the sticky split, and the retry budget.
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../../src/router/retry-budget.js';
import { failoverDecision, routeRequest, stickyBucket, type TrafficPolicy } from '../../../src/router/routing.js';

const policy = (overrides: Partial<TrafficPolicy> = {}): TrafficPolicy => ({
  active: 'blue',
  standbyWeight: 0,
  stickyHeader: null,
  mirrorFraction: 0,
  failover: false,
  epoch: '1',
  ...overrides,
});
const input = { preview: false, stickyKey: undefined, splitDraw: 0.5, mirrorDraw: 0.5 };

describe('failoverDecision', () => {
  const active = { color: 'blue' as const, reason: 'active' as const, mirror: true };
  it('sends live traffic to a healthy standby only when asked to and the active color has no healthy instance', () => {
    expect(failoverDecision(policy({ failover: true }), active, 0, 2)).toEqual({
      color: 'green',
      reason: 'failover',
      mirror: false,
    });
    expect(failoverDecision(policy({ failover: false }), active, 0, 2)).toBe(active);
    expect(failoverDecision(policy({ failover: true }), active, 1, 2)).toBe(active);
    expect(failoverDecision(policy({ failover: true }), active, 0, 0)).toBe(active);
    const preview = { color: 'green' as const, reason: 'preview' as const, mirror: false };
    expect(failoverDecision(policy({ failover: true }), preview, 0, 2)).toBe(preview);
  });
});

describe('routeRequest', () => {
  it('sends live traffic to the active color', () => {
    expect(routeRequest(policy(), input)).toEqual({ color: 'blue', reason: 'active', mirror: false });
    expect(routeRequest(policy({ active: 'green' }), input).color).toBe('green');
  });

  it('sends previews to the standby, never mirrored', () => {
    expect(routeRequest(policy({ mirrorFraction: 1 }), { ...input, preview: true })).toEqual({
      color: 'green',
      reason: 'preview',
      mirror: false,
    });
  });

  it('splits by weight: the draw below the weight goes to the standby', () => {
    expect(routeRequest(policy({ standbyWeight: 30 }), { ...input, splitDraw: 0.29 }).color).toBe('green');
    expect(routeRequest(policy({ standbyWeight: 30 }), { ...input, splitDraw: 0.31 }).color).toBe('blue');
    expect(routeRequest(policy({ standbyWeight: 100 }), { ...input, splitDraw: 0.999 }).color).toBe('green');
  });

  it('a sticky key always lands on the same color, and keys spread by the weight', () => {
    const p = policy({ standbyWeight: 25, stickyHeader: 'x-user' });
    const colors = Array.from(
      { length: 4000 },
      (_, i) => routeRequest(p, { ...input, stickyKey: `user-${i}`, splitDraw: Math.random() }).color,
    );
    const share = colors.filter((c) => c === 'green').length / colors.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.28);
    for (let i = 0; i < 50; i++)
      expect(routeRequest(p, { ...input, stickyKey: 'user-7', splitDraw: Math.random() }).color).toBe(colors[7]);
    expect(stickyBucket('a')).toBe(stickyBucket('a'));
  });

  it('mirrors the sampled fraction of active traffic', () => {
    expect(routeRequest(policy({ mirrorFraction: 0.1 }), { ...input, mirrorDraw: 0.05 }).mirror).toBe(true);
    expect(routeRequest(policy({ mirrorFraction: 0.1 }), { ...input, mirrorDraw: 0.15 }).mirror).toBe(false);
  });
});

describe('RetryBudget', () => {
  it('allows the floor per second when traffic is low, then refuses', () => {
    let now = 1_000_000;
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 2, windowSeconds: 5 }, () => now);
    const granted = Array.from({ length: 15 }, () => budget.tryRetry()).filter(Boolean).length;
    expect(granted).toBe(10); // 2 per second over a 5 s window
    now += 6_000; // the window has passed
    expect(budget.tryRetry()).toBe(true);
  });

  it('lets retries add at most the ratio of recent requests under load', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowSeconds: 10 }, () => 5_000_000);
    for (let i = 0; i < 1000; i++) budget.recordRequest();
    const granted = Array.from({ length: 1000 }, () => budget.tryRetry()).filter(Boolean).length;
    expect(granted).toBe(200);
  });
});
