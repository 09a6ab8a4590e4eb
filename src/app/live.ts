// Live figures for the dashboard's charts: every second while someone watches, each color's requests/s, error
// rate, P99 and cache hit rate, read from its instances' own /metrics (so they hold whatever carries the traffic:
// the router, a Kubernetes Service, gate load), which color is active, and the shadow gate's agreement while it
// runs. The last 15 minutes are kept, so that a dashboard opened now draws them at once; one sampler serves
// every viewer, and it stops a minute after the last one left.
import type { Color } from '../vocabulary/colors.js';
import { added, snapshotOf } from '../gates/instances-probe.js';
import { windowFigures, type WatchSnapshot } from '../gates/watch.js';
import type { Progress } from '../release/views.js';

/** One color's figures at one moment of the dashboard's charts. */
export interface ColorPoint {
  instances: number;
  rps: number;
  errorRate: number;
  p99Ms: number | null;
  /** Hits over lookups in the interval; null without lookups. */
  cacheHitRate: number | null;
}

/** One moment of the dashboard's charts: both colors, and which was active. */
export interface LivePoint {
  /** Milliseconds since the epoch. */
  at: number;
  active: Color;
  colors: Record<Color, ColorPoint | null>;
  /** While the shadow gate runs: its agreement so far and its samples. */
  shadow?: { samples: number; agreement: number };
}

interface Snapshot extends WatchSnapshot {
  cacheHits: number;
  cacheLookups: number;
}

const CACHE = /^guardgate_cache_requests_total\{[^}]*result="(hit|miss|error)"[^}]*\} ([0-9.eE+-]+)$/;

/** One instance's counts: the moderation routes' requests and latency, and its cache lookups. Pure. */
export function liveSnapshotOf(exposition: string): Snapshot {
  let cacheHits = 0;
  let cacheLookups = 0;
  for (const line of exposition.split('\n')) {
    const match = CACHE.exec(line);
    if (match === null) continue;
    const value = Number(match[2]);
    cacheLookups += value;
    if (match[1] === 'hit') cacheHits += value;
  }
  return { ...snapshotOf(exposition), cacheHits, cacheLookups };
}

/** A color's figures between two readings of its instances (an instance new or restarted counts from zero). Pure. */
export function colorPoint(before: Map<string, Snapshot>, now: Map<string, Snapshot>, seconds: number): ColorPoint {
  const window = added(before, now);
  const figures = windowFigures(window.before, window.after);
  let hits = 0;
  let lookups = 0;
  for (const [url, snapshot] of now) {
    const then = before.get(url);
    const fresh = then === undefined || then.cacheLookups > snapshot.cacheLookups;
    hits += snapshot.cacheHits - (fresh ? 0 : then.cacheHits);
    lookups += snapshot.cacheLookups - (fresh ? 0 : then.cacheLookups);
  }
  const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;
  return {
    instances: now.size,
    rps: round(figures.requests / Math.max(seconds, 0.001), 2),
    errorRate: round(figures.errorRate, 4),
    p99Ms: figures.p99Ms,
    cacheHitRate: lookups === 0 ? null : round(hits / lookups, 4),
  };
}

/** Where the sampler reads: the active color, each color's instances, and how to read one. */
export interface LiveSources {
  active(): Color;
  /** The instance URLs of a color now (none when it is not deployed). */
  instances(color: Color): string[];
  /** An instance's /metrics text. */
  read(url: string): Promise<string>;
  progress(): Progress | null;
}

const KEEP_MS = 15 * 60_000;

/** Samples every color's instances for the dashboard's live charts, keeping the last 15 minutes. */
export class LiveSampler {
  private readonly points: LivePoint[] = [];
  private last: { at: number; snapshots: Record<Color, Map<string, Snapshot>> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchedUntil = 0;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly sources: LiveSources,
    private readonly intervalMs = 1_000,
  ) {}

  /** The points after `since` (ms); keeps sampling for a minute more. */
  async since(since: number): Promise<LivePoint[]> {
    this.watchedUntil = Date.now() + 60_000;
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
      await this.tick(); // the first reading, so that the next one has something to compare with
    }
    return this.points.filter((p) => p.at > since);
  }

  private tick(): Promise<void> {
    if (Date.now() > this.watchedUntil) {
      this.stop();
      return Promise.resolve();
    }
    // One reading at a time: a slow instance never stacks them up.
    this.sampling ??= this.sample().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private async readColor(color: Color): Promise<Map<string, Snapshot>> {
    const readings = await Promise.all(
      this.sources.instances(color).map(async (url) => {
        try {
          return [url, liveSnapshotOf(await this.sources.read(url))] as const;
        } catch {
          return null; // an instance that does not answer now is left out of this point
        }
      }),
    );
    return new Map(readings.filter((r) => r !== null));
  }

  private async sample(): Promise<void> {
    const at = Date.now();
    const snapshots = { blue: await this.readColor('blue'), green: await this.readColor('green') };
    const last = this.last;
    this.last = { at, snapshots };
    if (last === undefined) return;
    const seconds = (at - last.at) / 1000;
    const point = (color: Color) =>
      snapshots[color].size === 0 ? null : colorPoint(last.snapshots[color], snapshots[color], seconds);
    // Only the shadow gate reports an agreement.
    const figures = this.sources.progress()?.figures;
    const agreement = figures?.agreement;
    this.points.push({
      at,
      active: this.sources.active(),
      colors: { blue: point('blue'), green: point('green') },
      ...(agreement === undefined ? {} : { shadow: { samples: figures!.samples ?? 0, agreement } }),
    });
    while (this.points.length > 0 && this.points[0]!.at < at - KEEP_MS) this.points.shift();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }
}
