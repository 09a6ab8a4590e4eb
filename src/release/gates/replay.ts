// The shadow gate's replay source: with too little live traffic to mirror, a corpus is sent through the
// router to both colors (the active one as live traffic, the candidate through the preview) and each pair
// of answers is compared like a mirrored one. Marked as evidence: never audited, never cached.
import { request } from 'undici';
import type { MirrorAnswer, MirrorPair } from '../../router/mirror.js';
import type { Color } from '../../router/routing.js';
import { PREVIEW_HEADER } from '../../shared/headers.js';
import type { Replay } from './shadow.js';

const CONCURRENCY = 4;

async function ask(url: string, body: string, headers: Record<string, string>, color: Color, signal?: AbortSignal): Promise<MirrorAnswer> {
  const started = performance.now();
  try {
    const response = await request(`${url}/predict`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal, headersTimeout: 30_000, bodyTimeout: 30_000 });
    return { color, version: null, status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()), latencyMs: performance.now() - started };
  } catch (error) {
    return { color, version: null, status: null, body: Buffer.alloc(0), error: (error as Error).message, latencyMs: performance.now() - started };
  }
}

/** Replay `bodies` (JSON /predict bodies) through the router at `url`, `headers` carrying an admin credential. */
export function corpusReplay(url: string, bodies: readonly string[], headers: Record<string, string>, colors: { active: Color; candidate: Color }): Replay {
  return async (add, enough, signal) => {
    let next = 0;
    const worker = async () => {
      while (next < bodies.length && !enough() && !signal?.aborted) {
        const body = bodies[next++]!;
        const [active, standby] = await Promise.all([
          ask(url, body, headers, colors.active, signal),
          ask(url, body, { ...headers, [PREVIEW_HEADER]: '1' }, colors.candidate, signal),
        ]);
        const pair: MirrorPair = { request: { method: 'POST', path: '/predict', headers: [], body: Buffer.from(body) }, active, standby, at: new Date() };
        add(pair);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };
}
