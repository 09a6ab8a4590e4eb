// Shadow traffic: a copy of a sampled live request goes to the standby color. The client only ever gets
// the active answer and never waits for the copy; copies beyond a bounded number in flight are dropped
// and counted. Each (active answer, standby answer) pair goes to the listeners (the shadow gate).
import type { RouterMetrics } from './metrics.js';
import type { ColorPool } from './pool.js';
import type { Color } from '../vocabulary/colors.js';
import { MIRROR_HEADER } from '../shared/headers.js';

/** A live request copied to the standby. */
export interface MirroredRequest {
  method: string;
  path: string;
  /** As forwarded to the active color: a flat [name, value, …] list. */
  headers: string[];
  body: Buffer;
}

/** One side's answer to a request (live or mirrored). */
export interface MirrorAnswer {
  color: Color;
  /** The color the answer named itself (a replayed answer's instance header), when it differs from what was asked or is known. */
  answeredBy?: string | undefined;
  version: string | null;
  /** HTTP status, or null when no answer came (the error says why). */
  status: number | null;
  body: Buffer;
  error?: string;
  latencyMs: number;
}

/** A request and both colors' answers, for the shadow gate. */
export interface MirrorPair {
  request: MirroredRequest;
  active: MirrorAnswer;
  standby: MirrorAnswer;
  at: Date;
}

/** Told of each pair. */
export type MirrorListener = (pair: MirrorPair) => void;

/** Sends copies of live requests to the standby, bounded, and pairs the answers. */
export class Mirror {
  private inFlight = 0;
  private readonly listeners = new Set<MirrorListener>();

  constructor(
    private readonly maxInFlight: number,
    private readonly timeoutMs: number,
    private readonly metrics: RouterMetrics,
    /** The deployment's router secret: instances honour a mirror header only when it carries it. */
    private readonly secret: string | null,
  ) {}

  get possible(): boolean {
    return this.secret !== null;
  }

  subscribe(listener: MirrorListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Send a copy to the standby pool unless the queue is full; pair it with the active answer when both are in. */
  offer(standby: ColorPool, request: MirroredRequest, active: Promise<MirrorAnswer>): void {
    const upstream = this.inFlight < this.maxInFlight && this.secret !== null ? standby.pick() : undefined;
    if (upstream === undefined) {
      this.metrics.mirror.inc({ outcome: 'dropped' });
      return;
    }
    this.inFlight++;
    this.metrics.mirror.inc({ outcome: 'sent' });
    const started = performance.now();
    const copy: Promise<MirrorAnswer> = upstream.client
      .request({
        method: request.method as 'POST',
        path: request.path,
        headers: [...request.headers, MIRROR_HEADER, this.secret!],
        body: request.body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      })
      .then(async (response) => ({
        color: standby.color,
        version: standby.version,
        status: response.statusCode,
        body: Buffer.from(await response.body.arrayBuffer()),
        latencyMs: performance.now() - started,
      }))
      .catch((error: Error) => {
        this.metrics.mirror.inc({ outcome: 'failed' });
        return {
          color: standby.color,
          version: standby.version,
          status: null,
          body: Buffer.alloc(0),
          error: error.message,
          latencyMs: performance.now() - started,
        };
      });
    void Promise.all([active, copy]).then(([activeAnswer, standbyAnswer]) => {
      this.inFlight--;
      const pair: MirrorPair = { request, active: activeAnswer, standby: standbyAnswer, at: new Date() };
      for (const listener of this.listeners) listener(pair);
    });
  }
}
