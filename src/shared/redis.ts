// Redis for optional helpers (the verdict cache, rate limits): commands fail at once while Redis is down
// (no offline queue), every call has a deadline, and the client reconnects in the background. A request
// never waits on Redis longer than the deadline, whatever Redis does.
import type { RedisClientType } from 'redis';

/** A Redis client whose calls fail within a deadline instead of queueing while Redis is down. */
export class FailFastRedis {
  private client: RedisClientType | undefined;
  /**
   * The first connection; a call made while it is being made waits for it (within its deadline). The client
   * library is loaded here, not at start: it is several hundred modules, and most processes never use Redis.
   */
  private readonly connected: Promise<unknown>;
  /** Closed before the library had loaded: it never connects. */
  private closed = false;

  /** Why there is no client (the library could not be loaded, or refused the URL): what calls reject with. */
  private failure: Error | undefined;

  constructor(url: string) {
    // Checked now, as the client library would: a bad URL stops the start, it does not fail later.
    const protocol = URL.canParse(url) ? new URL(url).protocol : '';
    if (protocol !== 'redis:' && protocol !== 'rediss:')
      throw new Error('the Redis URL must be redis://[user:password@]host[:port][/db] or rediss://…');
    this.connected = import('redis')
      .then(({ createClient }) => {
        if (this.closed) return;
        const client = createClient({
          url,
          disableOfflineQueue: true,
          socket: { connectTimeout: 1_000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1_000) },
        }) as RedisClientType;
        // Connection errors are expected while Redis is down: the callers answer without it.
        client.on('error', () => undefined);
        this.client = client;
        return client.connect().catch(() => undefined);
      })
      .catch((error: unknown) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
      });
  }

  get ready(): boolean {
    return this.client?.isReady ?? false;
  }

  /** Run a command; reject when it has not answered within `deadlineMs`. */
  async call<T>(command: (client: RedisClientType) => Promise<T>, deadlineMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${deadlineMs} ms`)), deadlineMs);
    });
    try {
      const client = this.connected.then(() => {
        if (this.client === undefined) throw this.failure ?? new Error('the Redis client is closed');
        return command(this.client);
      });
      return await Promise.race([client, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    if (client === undefined) return;
    if (client.isOpen) await client.close();
    else client.destroy();
  }
}
