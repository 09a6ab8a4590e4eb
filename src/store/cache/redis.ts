// The shared cache: Redis, so that both colors (and every instance) share verdicts. While Redis is
// unreachable, commands fail at once (no offline queue) and the client reconnects in the background.
import { createClient, type RedisClientType } from 'redis';
import type { CachedVerdict, VerdictCache } from './cache.js';

export class RedisVerdictCache implements VerdictCache {
  private readonly client: RedisClientType;

  constructor(
    url: string,
    private readonly ttlSeconds: number,
    /** A look-up slower than this is abandoned (the request goes on uncached). */
    private readonly timeoutMs: number,
  ) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 1_000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1_000) },
    }) as RedisClientType;
    // Connection errors are expected while Redis is down; requests go on uncached.
    this.client.on('error', () => undefined);
    this.client.connect().catch(() => undefined);
  }

  get ready(): boolean {
    return this.client.isReady;
  }

  async get(key: string): Promise<CachedVerdict | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      const text = await Promise.race([this.client.get(key), timeout]);
      return text === null ? undefined : (JSON.parse(text) as CachedVerdict);
    } finally {
      clearTimeout(timer);
    }
  }

  async set(key: string, value: CachedVerdict): Promise<void> {
    await this.client.set(key, JSON.stringify(value), { EX: this.ttlSeconds });
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close();
    else this.client.destroy();
  }
}
