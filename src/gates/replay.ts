// The shadow gate's replay source: with too little live traffic to mirror, texts are sent through the router
// to both colors (the active one as live traffic, the candidate through the preview) and each pair of
// answers is compared like a mirrored one: first the last audited texts (real traffic, when the audit text
// policy keeps texts), then a corpus. Marked as evidence: never audited, never cached.
import { request, type Dispatcher } from 'undici';
import { servedBy } from '../shared/served-by.js';
import type { MirrorAnswer, MirrorPair } from '../router/mirror.js';
import type { Color } from '../vocabulary/colors.js';
import type { Endpoint } from '../release/traffic.js';
import type { AuditStore } from '../store/audit/store.js';
import type { Replay, ReplayOrigin } from './shadow.js';

/** One /predict body to replay, and where it came from. */
export interface ReplayItem {
  body: string;
  origin: ReplayOrigin;
}

/** The audit log returns at most this many records per query. */
const AUDIT_PAGE = 1_000;

/**
 * The last `count` distinct texts the audit log kept (newest first; identical texts once), as /predict
 * bodies. None when the text policy keeps digests only.
 */
export async function auditedTexts(audit: Pick<AuditStore, 'query'>, count: number): Promise<ReplayItem[]> {
  const seen = new Set<string>();
  const out: ReplayItem[] = [];
  let cursor: string | undefined;
  for (let pages = 0; out.length < count && pages < 10; pages++) {
    const page = await audit.query({ limit: AUDIT_PAGE, ...(cursor === undefined ? {} : { cursor }) });
    for (const record of page.records) {
      if (record.prompt === null || seen.has(record.text_digest) || out.length >= count) continue;
      seen.add(record.text_digest);
      out.push({
        body: JSON.stringify(
          record.response === null ? { prompt: record.prompt } : { prompt: record.prompt, response: record.response },
        ),
        origin: 'audit',
      });
    }
    if (page.next === null) break;
    cursor = page.next;
  }
  return out;
}

const CONCURRENCY = 4;

async function ask(
  url: string,
  body: string,
  headers: Record<string, string>,
  color: Color,
  signal?: AbortSignal,
  dispatcher?: Dispatcher,
): Promise<MirrorAnswer> {
  const started = performance.now();
  try {
    const response = await request(`${url}/predict`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      signal,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    // The side that really answered, as it names itself (the shadow gate refuses a pair from the wrong sides).
    const named = servedBy(response.headers);
    return {
      color,
      answeredBy: named.color ?? color,
      version: named.version ?? null,
      status: response.statusCode,
      body: Buffer.from(await response.body.arrayBuffer()),
      latencyMs: performance.now() - started,
    };
  } catch (error) {
    return {
      color,
      version: null,
      status: null,
      body: Buffer.alloc(0),
      error: (error as Error).message,
      latencyMs: performance.now() - started,
    };
  }
}

/**
 * Replay `items` (JSON /predict bodies), in order, to the live color and to the standby (the traffic's two
 * endpoints), `headers` carrying an admin credential.
 */
export function replayTo(
  live: Endpoint,
  preview: Endpoint,
  items: readonly ReplayItem[],
  headers: Record<string, string>,
  colors: { active: Color; candidate: Color },
  dispatcher?: Dispatcher,
): Replay {
  return async (add, enough, signal) => {
    let next = 0;
    const worker = async () => {
      while (next < items.length && !enough() && !signal?.aborted) {
        const { body, origin } = items[next++]!;
        const [active, standby] = await Promise.all([
          ask(live.url, body, { ...live.headers, ...headers }, colors.active, signal, dispatcher),
          ask(preview.url, body, { ...preview.headers, ...headers }, colors.candidate, signal, dispatcher),
        ]);
        const pair: MirrorPair = {
          request: { method: 'POST', path: '/predict', headers: [], body: Buffer.from(body) },
          active,
          standby,
          at: new Date(),
        };
        add(pair, origin);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };
}
