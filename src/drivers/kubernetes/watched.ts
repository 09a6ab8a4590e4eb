// Objects of one kind kept by a watch (an informer: list once, then changes, relisting after 410 Gone) rather
// than read several times a second. While the watch is down (it restarts after a second), `live` is false and
// the caller reads from the API server instead.
import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';

export class Watched<T extends KubernetesObject> {
  private readonly cache: Informer<T> & ObjectCache<T>;
  private live = false;
  private closed = false;

  private constructor(
    config: KubeConfig,
    path: string,
    list: ListPromise<T>,
    labelSelector: string,
    private readonly what: string,
    private readonly log: Logger,
  ) {
    this.cache = makeInformer<T>(config, path, list, labelSelector);
    this.cache.on('connect', () => (this.live = true));
    this.cache.on('error', (error: unknown) => {
      this.live = false;
      if (this.closed) return;
      this.log.warn({ err: error }, `kubernetes: the watch of the ${what} stopped; reading them until it is back`);
      this.restart();
    });
  }

  /** Start watching (the first list included); on failure, it goes on trying in the background. */
  static async start<T extends KubernetesObject>(
    config: KubeConfig,
    path: string,
    list: ListPromise<T>,
    labelSelector: string,
    what: string,
    log: Logger,
  ): Promise<Watched<T>> {
    const watched = new Watched<T>(config, path, list, labelSelector, what, log);
    try {
      await watched.cache.start();
      watched.live = true;
    } catch (error) {
      log.warn({ err: error }, `kubernetes: the ${what} could not be watched; reading them instead`);
      watched.restart();
    }
    return watched;
  }

  private restart(): void {
    setTimeout(() => void this.cache.start().catch(() => undefined), 1_000).unref();
  }

  /** The objects of the namespace, or undefined while the watch is down (read them instead). */
  list(namespace: string): readonly T[] | undefined {
    return this.live ? this.cache.list(namespace) : undefined;
  }

  /** One object as the watch last saw it; undefined when the watch is down or has not seen it. */
  get(name: string, namespace: string): T | undefined {
    return this.live ? this.cache.get(name, namespace) : undefined;
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.cache.stop();
  }
}
