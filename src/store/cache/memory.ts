// The default cache: an in-process LRU with a TTL.
import type { CachedVerdict, VerdictCache } from './cache.js';

/** Verdicts cached in this process, bounded, least recently used out first. */
export class MemoryVerdictCache implements VerdictCache {
  private readonly entries = new Map<string, { value: CachedVerdict; expires: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CachedVerdict | undefined> {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expires <= this.now()) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry.value;
  }

  async set(key: string, value: CachedVerdict): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
