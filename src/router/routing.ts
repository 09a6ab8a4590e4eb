// Which color serves a request: pure decisions, with the random draws passed in.

import { otherColor, type Color } from '../vocabulary/colors.js';

/** How traffic is split between the colors now. */
export interface TrafficPolicy {
  active: Color;
  /** Percentage (0 to 100) of live traffic sent to the standby: a canary. */
  standbyWeight: number;
  /** When set, the canary split is sticky by a hash of this request header's value. */
  stickyHeader: string | null;
  /** Fraction (0 to 1) of live requests served by the active color that are also mirrored to the standby. */
  mirrorFraction: number;
  /** Serve live traffic from the standby while the active color has no healthy instance (off by default). */
  failover: boolean;
  /** The epoch of the state this policy belongs to, as answers carry it (`x-guardgate-epoch`). */
  epoch: string;
}

/** What a request brings to the routing decision. */
export interface RouteInput {
  /** `x-guardgate-preview: 1`, or the request came in on the preview port. */
  preview: boolean;
  /** The sticky header's value, when the policy names one and the request has it. */
  stickyKey: string | undefined;
  /** Two uniform draws in [0, 1): one for the canary split, one for mirroring. */
  splitDraw: number;
  mirrorDraw: number;
}

/** Which color serves a request, why, and whether it is mirrored. */
export interface RouteDecision {
  color: Color;
  /** Why this color: the dashboard and the metrics say it. */
  reason: 'active' | 'preview' | 'canary' | 'failover';
  /** Also send a copy to the other color and compare (the standby; for a canary request, the active color). */
  mirror: boolean;
}

/** FNV-1a, mapped to [0, 1): the same key always lands in the same bucket. */
export function stickyBucket(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x100000000;
}

/** Live traffic to the standby while the active color has no healthy instance and the standby has one. */
export function failoverDecision(
  policy: TrafficPolicy,
  decision: RouteDecision,
  activeHealthy: number,
  standbyHealthy: number,
): RouteDecision {
  if (!policy.failover || decision.reason !== 'active' || activeHealthy > 0 || standbyHealthy === 0) return decision;
  return { color: otherColor(policy.active), reason: 'failover', mirror: false };
}

/** Which color serves this request. Pure. */
export function routeRequest(policy: TrafficPolicy, input: RouteInput): RouteDecision {
  const standby = otherColor(policy.active);
  if (input.preview) return { color: standby, reason: 'preview', mirror: false };
  if (policy.standbyWeight > 0) {
    const draw = input.stickyKey === undefined ? input.splitDraw : stickyBucket(input.stickyKey);
    // A canary's requests are mirrored back to the active color too: both sides' verdicts on the same text.
    if (draw * 100 < policy.standbyWeight)
      return { color: standby, reason: 'canary', mirror: input.mirrorDraw < policy.mirrorFraction };
  }
  return { color: policy.active, reason: 'active', mirror: input.mirrorDraw < policy.mirrorFraction };
}
