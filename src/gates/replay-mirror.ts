// Verdict pairs for a canary where no router is in the path (a Kubernetes Service or Gateway splits the traffic,
// and nothing can copy a request to the other side): every second, the texts live traffic sent since the last
// look are read from the audit log (when it keeps texts) and a share of them (the mirror fraction) is replayed to
// an instance of each color; without audited texts, the corpus is replayed instead. Each pair of answers is handed
// over as a mirrored pair would be. Replays are evidence: never audited, never cached.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { MirrorPair } from '../router/mirror.js';
import type { AuditStore } from '../store/audit/store.js';
import type { Color } from '../vocabulary/colors.js';
import { replayTo, type ReplayItem } from './replay.js';
import type { ShadowSource } from './shadow.js';

/** How often the audit log is read for new live texts. */
const EVERY_MS = 1_000;
/** Without audited texts, the mirror fraction of this many corpus texts is replayed a look (2 a second at 0.2). */
const CORPUS_PER_LOOK = 10;
/** At most this many texts replayed a look (the rest of a burst is skipped: a sample, not a copy). */
const MAX_PER_LOOK = 50;

export interface ReplayMirrorOptions {
  /** The audit log of live verdicts, when it keeps texts; otherwise the corpus alone is replayed. */
  audit: Pick<AuditStore, 'query'> | undefined;
  corpus: readonly ReplayItem[];
  /** A ready instance of the color, asked directly (undefined: none ready now). */
  instanceUrl(color: Color): string | undefined;
  colors: { stable: Color; candidate: Color };
  /** The gate credential and the evidence mark. */
  headers: Record<string, string>;
  log: Logger;
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** Which share of `n` texts a fraction takes: every text at 1, one in ten at 0.1, at least one when any. Pure. */
export const sampleCount = (n: number, fraction: number): number =>
  n === 0 || fraction <= 0 ? 0 : Math.min(MAX_PER_LOOK, Math.max(1, Math.round(n * fraction)));

/** A source of verdict pairs that replays live texts (or the corpus) to both colors while its fraction is above 0. */
export function replayMirror(options: ReplayMirrorOptions): ShadowSource & { readonly comparesLiveTexts: boolean } {
  const listeners = new Set<(pair: MirrorPair) => void>();
  let fraction = 0;
  let timer: NodeJS.Timeout | undefined;
  let stop: AbortController | undefined;
  let startedAt = Date.now();
  let lastSeen = 0;
  let corpusAt = 0;
  // In an order that mixes the corpus's parts (a suite lists its benign cases together): each step sees both kinds.
  const corpus = [...options.corpus].sort((a, b) => digest(a.body).localeCompare(digest(b.body)));
  const seen = new Set<string>();

  /** The texts to replay this look: new audited ones (distinct, newest first), else the next corpus entries. */
  const nextItems = async (): Promise<ReplayItem[]> => {
    if (options.audit !== undefined) {
      // A second of overlap between looks: writers' clocks and batches differ; what was seen is not taken again.
      const page = await options.audit.query({ since: new Date(Math.max(startedAt, lastSeen - 1_000)), limit: 1_000 });
      const fresh = page.records.filter((r) => r.prompt !== null && !seen.has(r.id));
      for (const r of fresh) seen.add(r.id);
      for (const r of page.records) lastSeen = Math.max(lastSeen, Date.parse(r.time));
      if (seen.size > 10_000) seen.clear();
      const texts = new Map<string, ReplayItem>();
      for (const r of fresh)
        texts.set(r.text_digest, {
          body: JSON.stringify(r.response === null ? { prompt: r.prompt } : { prompt: r.prompt, response: r.response }),
          origin: 'audit',
        });
      return [...texts.values()].slice(0, sampleCount(fresh.length, fraction));
    }
    const count = Math.min(corpus.length, sampleCount(CORPUS_PER_LOOK, fraction));
    return Array.from({ length: count }, () => corpus[corpusAt++ % corpus.length]!);
  };

  const look = async (signal: AbortSignal) => {
    const stable = options.instanceUrl(options.colors.stable);
    const candidate = options.instanceUrl(options.colors.candidate);
    if (stable === undefined || candidate === undefined) return;
    const items = await nextItems();
    const replay = replayTo({ url: stable, headers: {} }, { url: candidate, headers: {} }, items, options.headers, {
      active: options.colors.stable,
      candidate: options.colors.candidate,
    });
    await replay(
      (pair) => {
        for (const listener of listeners) listener(pair);
      },
      () => false,
      signal,
    );
  };

  const schedule = () => {
    timer = setTimeout(() => {
      const signal = stop!.signal;
      void look(signal)
        .catch((error: unknown) => options.log.warn({ err: error }, 'canary replay: a look failed'))
        .finally(() => {
          if (!signal.aborted) schedule();
        });
    }, EVERY_MS);
  };

  return {
    comparesLiveTexts: options.audit !== undefined,
    async setMirror(next: number) {
      fraction = next;
      if (next > 0 && stop === undefined) {
        stop = new AbortController();
        startedAt = Date.now();
        schedule();
      } else if (next === 0 && stop !== undefined) {
        stop.abort();
        clearTimeout(timer);
        stop = undefined;
      }
    },
    onMirrorPair(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
