// Rate limits per subject: one interface, buckets in this process (memory) or shared through Redis.
// Redis that is down or slow lets requests through (fail open, counted): a moderation gateway that
// blocks every user because its limiter's store is down would be the larger harm.
import { FailFastRedis } from '../shared/redis.js';
import { fullAfterMs, spend, type Bucket, type Decision, type Limit } from './token-bucket.js';

/** Takes a token from a subject's bucket (in memory or in Redis: one contract test). */
export interface RateLimiter {
  take(subject: string, limit: Limit): Promise<Decision>;
  close(): Promise<void>;
}

/** Buckets in this process, bounded in number. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket & { limit: Limit }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly maxSubjects = 100_000) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), 10_000);
    this.sweeper.unref();
  }

  async take(subject: string, limit: Limit): Promise<Decision> {
    const now = Date.now();
    const { bucket, decision } = spend(this.buckets.get(subject), limit, now);
    // Re-inserting keeps the Map in least-recently-used order for the size bound below.
    this.buckets.delete(subject);
    this.buckets.set(subject, { ...bucket, limit });
    if (this.buckets.size > this.maxSubjects) this.buckets.delete(this.buckets.keys().next().value!);
    return decision;
  }

  /** Forget buckets that have filled up again: they are the same as a new one. */
  private sweep(now: number): void {
    for (const [subject, bucket] of this.buckets)
      if (now - bucket.updatedMs > fullAfterMs(bucket.limit)) this.buckets.delete(subject);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

// The same bucket as token-bucket.ts, in Redis, atomically; Redis's own clock so that instances agree.
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.max(1, math.ceil((1 - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, retry}
`;

/** Buckets in Redis, shared by every instance; a slow or down Redis lets requests through (counted). */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: FailFastRedis;

  constructor(
    url: string,
    private readonly timeoutMs: number,
    private readonly onError: (error: unknown) => void,
    private readonly prefix = 'guardgate:ratelimit:',
  ) {
    this.redis = new FailFastRedis(url);
  }

  async take(subject: string, limit: Limit): Promise<Decision> {
    try {
      const reply = (await this.redis.call(
        (client) =>
          client.eval(TAKE, {
            keys: [this.prefix + subject],
            arguments: [String(limit.perSecond), String(limit.burst)],
          }),
        this.timeoutMs,
      )) as [number, number];
      return { allowed: reply[0] === 1, retryAfterSeconds: Number(reply[1]) };
    } catch (error) {
      this.onError(error);
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }

  close(): Promise<void> {
    return this.redis.close();
  }
}
