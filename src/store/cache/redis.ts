// The shared cache: Redis, so that both colors (and every instance) share verdicts. While Redis is
// unreachable, or slower than the deadline, look-ups are misses and requests go on uncached.
import { FailFastRedis } from '../../shared/redis.js';
import type { CachedVerdict, VerdictCache } from './cache.js';

/** Verdicts cached in Redis, shared by every instance; a slow or down Redis is a miss. */
export class RedisVerdictCache implements VerdictCache {
  private readonly redis: FailFastRedis;

  constructor(
    url: string,
    private readonly ttlSeconds: number,
    /** A look-up slower than this is abandoned (the request goes on uncached). */
    private readonly timeoutMs: number,
  ) {
    this.redis = new FailFastRedis(url);
  }

  get ready(): boolean {
    return this.redis.ready;
  }

  async get(key: string): Promise<CachedVerdict | undefined> {
    const text = await this.redis.call((client) => client.get(key), this.timeoutMs);
    return text === null ? undefined : (JSON.parse(text) as CachedVerdict);
  }

  async set(key: string, value: CachedVerdict): Promise<void> {
    await this.redis.call((client) => client.set(key, JSON.stringify(value), { EX: this.ttlSeconds }), 1_000);
  }

  close(): Promise<void> {
    return this.redis.close();
  }
}
