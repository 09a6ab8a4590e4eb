// One color's set of instances: membership, its version label, and the choice of an instance per request.
import type { Color } from '../vocabulary/colors.js';
import { Upstream, type UpstreamOptions } from './upstream.js';

/** One color's instances, and which of them is picked next. */
export class ColorPool {
  private members: Upstream[] = [];
  private next = 0;
  version: string | null = null;

  constructor(
    readonly color: Color,
    private readonly options: UpstreamOptions,
  ) {}

  get upstreams(): readonly Upstream[] {
    return this.members;
  }

  get healthyCount(): number {
    return this.members.filter((u) => u.healthy).length;
  }

  /**
   * Replace the membership: instances that stay keep their connections and health; new ones start
   * unknown (out of rotation until their first check passes); removed ones are returned to be closed.
   */
  setMembers(urls: readonly string[], version: string | null): { added: Upstream[]; removed: Upstream[] } {
    const wanted = new Set(urls.map((url) => new URL(url).origin));
    const kept = this.members.filter((u) => wanted.has(u.origin));
    const removed = this.members.filter((u) => !wanted.has(u.origin));
    const added = [...wanted]
      .filter((origin) => !kept.some((u) => u.origin === origin))
      .map((origin) => new Upstream(origin, this.options));
    this.members = [...kept, ...added];
    this.version = version;
    return { added, removed };
  }

  /**
   * Round-robin over healthy instances with fewer than `maxInFlight` requests, fewest in flight first among
   * equals; `exclude` is the one that just failed.
   */
  pick(maxInFlight = Infinity, exclude?: Upstream): Upstream | undefined {
    const count = this.members.length;
    let best: Upstream | undefined;
    for (let i = 0; i < count; i++) {
      const candidate = this.members[(this.next + i) % count]!;
      if (!candidate.healthy || candidate === exclude || candidate.inFlight >= maxInFlight) continue;
      if (best === undefined || candidate.inFlight < best.inFlight) best = candidate;
    }
    this.next = (this.next + 1) % Math.max(count, 1);
    return best;
  }
}
