// The token bucket, as a pure function: a subject may spend `burst` requests at once and earns
// `perSecond` back. The memory and Redis limiters keep buckets; this decides.

/** A rate: tokens a second, and the burst. */
export interface Limit {
  perSecond: number;
  burst: number;
}

/** A subject's bucket: tokens left, and when they were counted. */
export interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Allowed, or refused with how long to wait. */
export interface Decision {
  allowed: boolean;
  /** Whole seconds until the request would be allowed (0 when it is). */
  retryAfterSeconds: number;
}

/** Refill for the time passed, then spend `cost` if there is enough. */
export function spend(
  bucket: Bucket | undefined,
  limit: Limit,
  nowMs: number,
  cost = 1,
): { bucket: Bucket; decision: Decision } {
  const elapsed = bucket === undefined ? 0 : Math.max(0, nowMs - bucket.updatedMs);
  const tokens =
    bucket === undefined ? limit.burst : Math.min(limit.burst, bucket.tokens + (elapsed / 1000) * limit.perSecond);
  if (tokens >= cost)
    return { bucket: { tokens: tokens - cost, updatedMs: nowMs }, decision: { allowed: true, retryAfterSeconds: 0 } };
  return {
    bucket: { tokens, updatedMs: nowMs },
    decision: { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / limit.perSecond)) },
  };
}

/** How long an untouched bucket takes to fill up again: after that it can be forgotten. */
export const fullAfterMs = (limit: Limit): number => Math.ceil((limit.burst / limit.perSecond) * 1000);
