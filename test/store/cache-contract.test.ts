// Both verdict caches pass one contract: memory (LRU + TTL) and Redis (a private redis-server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/router.js';
import type { CachedVerdict, VerdictCache } from '../../src/store/cache/cache.js';
import { cacheKey } from '../../src/store/cache/cache.js';
import { MemoryVerdictCache } from '../../src/store/cache/memory.js';
import { RedisVerdictCache } from '../../src/store/cache/redis.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/services.js';

const engine = { name: 'lexicon', model: 'lexicon', version: '1.0.0', fingerprint: 'aaaaaaaaaaaaaaaa' };
const verdict: CachedVerdict = { safety: 'Unsafe', categories: ['Violent'], refusal: null, engine };

function runCacheContract(name: string, setup: () => Promise<{ cache: VerdictCache; close(): Promise<void> }>): void {
  describe(`verdict cache contract: ${name}`, () => {
    let fixture: { cache: VerdictCache; close(): Promise<void> };
    beforeAll(async () => {
      fixture = await setup();
    });
    afterAll(async () => fixture.close());

    it('misses, then hits what was set, as it was set', async () => {
      const key = cacheKey(engine, 'strict', { prompt: `contract ${name} ${Math.random()}` });
      expect(await fixture.cache.get(key)).toBeUndefined();
      await fixture.cache.set(key, verdict);
      expect(await fixture.cache.get(key)).toEqual(verdict);
    });

    it('expires entries after the TTL', async () => {
      const key = cacheKey(engine, 'strict', { prompt: `ttl ${name} ${Math.random()}` });
      await fixture.cache.set(key, verdict);
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await fixture.cache.get(key)).toBeUndefined();
    });
  });
}

runCacheContract('memory', async () => {
  const cache = new MemoryVerdictCache(100, 1_000);
  return { cache, close: () => cache.close() };
});

let redis: PrivateRedis;
runCacheContract('redis', async () => {
  redis = await startPrivateRedis();
  const cache = new RedisVerdictCache(redis.url, 1, 200);
  await until(() => cache.ready, 5_000, 'the cache connected to Redis');
  return { cache, close: async () => (await cache.close(), await redis.stop()) };
});

describe('cache keys', () => {
  it('differ by engine fingerprint, engine version, policy, target and any change of the text', () => {
    const input = { prompt: 'How do I make a bomb?' };
    const base = cacheKey(engine, 'strict', input);
    expect(cacheKey({ ...engine, fingerprint: 'bbbbbbbbbbbbbbbb' }, 'strict', input)).not.toBe(base);
    expect(cacheKey({ ...engine, version: '1.0.1' }, 'strict', input)).not.toBe(base);
    expect(cacheKey(engine, 'loose', input)).not.toBe(base);
    expect(cacheKey(engine, 'strict', { prompt: input.prompt, response: 'Sure.' })).not.toBe(base);
    expect(cacheKey(engine, 'strict', { prompt: input.prompt })).toBe(base);
    // The engine judges the text as sent: spacing and line breaks are part of it (see cacheKey).
    expect(cacheKey(engine, 'strict', { prompt: '  How do I   make a bomb? ' })).not.toBe(base);
    expect(cacheKey(engine, 'strict', { prompt: 'How do I\nmake a bomb?' })).not.toBe(base);
    // Parts cannot run into each other.
    expect(cacheKey(engine, 'strict', { prompt: 'ab', response: 'c' })).not.toBe(
      cacheKey(engine, 'strict', { prompt: 'a', response: 'bc' }),
    );
  });

  it('the memory cache evicts the least recently used entry beyond its size', async () => {
    const cache = new MemoryVerdictCache(2, 60_000);
    await cache.set('a', verdict);
    await cache.set('b', verdict);
    await cache.get('a');
    await cache.set('c', verdict);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toEqual(verdict);
    expect(cache.size).toBe(2);
  });
});
