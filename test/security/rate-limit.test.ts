// Rate limits per subject: a token bucket, the same contract in memory and in Redis, 429 with
// Retry-After on the API, shared by every instance through Redis, and open (counted) when Redis is down.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../../src/auth/rate-limit.js';
import { spend } from '../../src/auth/token-bucket.js';
import type { RunningInstance } from '../../src/instance/run.js';
import { tempDir } from '../helpers/auth.js';
import { startTestInstance } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { REDIS_URL, redisReachable, requireService, startPrivateRedis } from '../helpers/services.js';

describe('the token bucket', () => {
  it('spends a burst, refuses with the wait, and earns tokens back at the rate', () => {
    const limit = { perSecond: 2, burst: 3 };
    let bucket;
    for (let i = 0; i < 3; i++) {
      const step = spend(bucket, limit, 1_000);
      expect(step.decision.allowed).toBe(true);
      bucket = step.bucket;
    }
    const refused = spend(bucket, limit, 1_000);
    expect(refused.decision).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(spend(refused.bucket, limit, 1_400).decision.allowed).toBe(false);
    expect(spend(refused.bucket, limit, 1_500).decision.allowed).toBe(true); // 0.5 s at 2/s is one token
    expect(spend(refused.bucket, limit, 60_000).bucket.tokens).toBe(2); // never more than the burst
  });
});

function runLimiterContract(
  name: string,
  make: (skip: (note: string) => void) => Promise<RateLimiter | undefined>,
): void {
  describe(`rate limiter contract: ${name}`, () => {
    it('allows the burst per subject, then refuses with Retry-After, and allows again after a refill', async (context) => {
      const limiter = await make((note) => context.skip(note));
      if (limiter === undefined) return;
      try {
        const subject = `contract-${Math.random()}`;
        const limit = { perSecond: 20, burst: 5 };
        const first = await Promise.all(Array.from({ length: 5 }, () => limiter.take(subject, limit)));
        expect(first.every((d) => d.allowed)).toBe(true);
        const refused = await limiter.take(subject, limit);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect((await limiter.take(`${subject}-other`, limit)).allowed).toBe(true);
        await until(async () => (await limiter.take(subject, limit)).allowed, 5_000);
      } finally {
        await limiter.close();
      }
    });
  });
}

runLimiterContract('memory', async () => new MemoryRateLimiter());
runLimiterContract('redis', async (skip) => {
  if (!requireService(await redisReachable(), `Redis at ${REDIS_URL}`, skip)) return undefined;
  return new RedisRateLimiter(REDIS_URL, 500, () => undefined, `guardgate-test:${Math.random()}:`);
});

describe('rate limits on the API', () => {
  const dir = tempDir();
  const instances: RunningInstance[] = [];
  afterAll(async () => Promise.all(instances.map((i) => i.shutdown())));

  const start = async (rateLimit: Record<string, unknown>, keysFile: string) => {
    const file = join(dir, `config-${instances.length}.yaml`);
    writeFileSync(file, stringify({ auth: { apiKeysFile: keysFile, rateLimit } }));
    const instance = await startTestInstance({ config: file });
    instances.push(instance);
    return instance;
  };
  const call = async (instance: RunningInstance, key: string) => {
    const response = await fetch(`${instance.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: '{"prompt":"hi"}',
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as any,
    };
  };

  it('429 with Retry-After once a subject spends its burst; other subjects are not affected; counted by reason', async () => {
    const keysFile = join(dir, 'keys-memory.json');
    const alice = addApiKey(keysFile, 'alice', ['moderate']);
    const bob = addApiKey(keysFile, 'bob', ['moderate']);
    const ops = addApiKey(keysFile, 'ops', ['admin']);
    const instance = await start(
      { limits: { moderate: { perSecond: 0.01, burst: 3 }, admin: { perSecond: 100, burst: 100 } } },
      keysFile,
    );
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(instance, alice)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await call(instance, alice);
    expect(limited.retryAfter).toMatch(/^\d+$/);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(limited.body.error.code).toBe('rate_limited');
    expect((await call(instance, bob)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await call(instance, ops)).status).toBe(200); // the admin scope's own limit
    const metrics = await (
      await fetch(`${instance.url}/metrics`, { headers: { authorization: `Bearer ${ops}` } })
    ).text();
    expect(metrics).toMatch(/guardgate_auth_rejections_total\{reason="rate_limited"\} 3/);
  });

  it('through Redis, every instance draws on one bucket; with Redis down requests pass and are counted', async (context) => {
    let redis;
    try {
      redis = await startPrivateRedis();
    } catch (error) {
      if (!requireService(false, `redis-server (${(error as Error).message})`, (note) => context.skip(note))) return;
      throw error;
    }
    try {
      const keysFile = join(dir, 'keys-redis.json');
      const carol = addApiKey(keysFile, 'carol', ['moderate']);
      const scraper = addApiKey(keysFile, 'prometheus', ['metrics']);
      const rateLimit = { store: 'redis', redisUrl: redis.url, limits: { moderate: { perSecond: 0.01, burst: 4 } } };
      const [one, two] = [await start(rateLimit, keysFile), await start(rateLimit, keysFile)];

      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(i % 2 ? two : one, carol)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      await redis.stop();
      for (let i = 0; i < 5; i++) expect((await call(one, carol)).status).toBe(200);
      const metrics = await (
        await fetch(`${one.url}/metrics`, { headers: { authorization: `Bearer ${scraper}` } })
      ).text();
      expect(Number(/guardgate_rate_limit_errors_total (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThanOrEqual(5);
    } finally {
      await redis.stop();
    }
  });
});
