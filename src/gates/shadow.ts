// The shadow gate: live requests mirrored to the candidate, each pair of verdicts compared. It reports the
// agreement rate, a confusion matrix of safety tiers (active by candidate), category agreement, and the
// disagreeing examples; it fails below an agreement threshold or on Unsafe-to-Safe flips above a limit.
import { SAFETY_TIERS, type Safety } from '../moderation/taxonomy.js';
import type { ModerationInput } from '../moderation/conversation.js';
import type { MirrorPair } from '../router/mirror.js';
import { keptText, textDigest, type TextMode } from '../store/audit/record.js';
import { wrongSide } from '../shared/served-by.js';
import type { GateReport } from './report.js';

/** What the shadow gate requires of the compared verdicts. */
export interface ShadowRule {
  /** Share of pairs whose safety tiers agree, at least. */
  minAgreement: number;
  /** Pairs where the active said Unsafe and the candidate Safe, at most. */
  maxUnsafeToSafe: number;
  /** Fewer compared pairs than this is not evidence: the gate is inconclusive. */
  minSamples: number;
}

/** One pair of verdicts that disagreed, with the text only as the audit policy allows. */
export interface Disagreement {
  traceId: string | null;
  active: { safety: Safety; categories: string[] };
  candidate: { safety: Safety; categories: string[] };
  /** What was judged, under the audit log's text policy: always a digest; the text only when the policy keeps it. */
  request: { digest: string; prompt: string | null; response: string | null };
}

const MAX_EXAMPLE_CHARS = 500;

/** The judged input of item `index` of a /predict or /v1/moderations body, when it can be read. */
function judgedInput(body: Buffer, index: number): ModerationInput | null {
  try {
    const value = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const item = (
      Array.isArray(value.inputs)
        ? value.inputs[index]
        : Array.isArray(value.input)
          ? { prompt: value.input[index] }
          : value.input !== undefined
            ? { prompt: value.input }
            : value
    ) as Record<string, unknown>;
    const prompt =
      typeof item.prompt === 'string'
        ? item.prompt
        : typeof (item.prompt as { text?: unknown })?.text === 'string'
          ? (item.prompt as { text: string }).text
          : null;
    if (prompt === null) return null;
    return { prompt, ...(typeof item.response === 'string' ? { response: item.response } : {}) };
  } catch {
    return null;
  }
}

/** An example for the evidence, following the text policy. */
export function exampleOf(body: Buffer, index: number, mode: TextMode): Disagreement['request'] {
  const input = judgedInput(body, index) ?? { prompt: body.toString('utf8') };
  const cut = (text: string | null): string | null => (text === null ? null : text.slice(0, MAX_EXAMPLE_CHARS));
  return {
    digest: textDigest(input),
    prompt: cut(keptText(input.prompt, mode)),
    response: cut(keptText(input.response, mode)),
  };
}

/** The shadow gate's evidence: counts, agreement, the confusion matrix and examples. */
export interface ShadowEvidence {
  samples: number;
  /**
   * Where the compared verdicts came from: live traffic mirrored, or texts replayed to both colors (of
   * those, how many were the last audited texts and how many came from a corpus).
   */
  sources: { mirrored: number; replayed: number; replayedFrom: Record<ReplayOrigin, number> };
  /** Pairs that could not be compared: an error or a non-200 on either side. */
  incomparable: number;
  /** Pairs a side of which was answered by the wrong color (a preview not yet moved): never compared, and they fail the gate. */
  misrouted: number;
  /** The first of them, said. */
  misroutedExample: string | null;
  agreement: number;
  categoryAgreement: number;
  unsafeToSafe: number;
  /** matrix[active][candidate] = count. */
  matrix: Record<Safety, Record<Safety, number>>;
  candidateLatencyMs: { mean: number };
  activeLatencyMs: { mean: number };
  disagreements: Disagreement[];
  rule: ShadowRule;
  reasons: string[];
}

interface VerdictBody {
  trace_id?: string;
  safety?: Safety;
  categories?: string[];
  results?: VerdictBody[];
}

const MAX_EXAMPLES = 50;

/** Accumulates mirrored pairs into the shadow report. Pure apart from its own counters. */
export class ShadowComparator {
  private samples = 0;
  private incomparable = 0;
  private misrouted = 0;
  private misroutedExample: string | null = null;
  private agree = 0;
  private categoryAgree = 0;
  private unsafeToSafe = 0;
  private activeLatency = 0;
  private candidateLatency = 0;
  private readonly matrix = Object.fromEntries(
    SAFETY_TIERS.map((a) => [a, Object.fromEntries(SAFETY_TIERS.map((c) => [c, 0]))]),
  ) as Record<Safety, Record<Safety, number>>;
  private readonly disagreements: Disagreement[] = [];

  constructor(
    private readonly rule: ShadowRule,
    private readonly textMode: TextMode = 'none',
    /** The colors each side must be answered by, when known. */
    private readonly colors?: { active: string; candidate: string },
  ) {}

  get sampleCount(): number {
    return this.samples;
  }

  /** The share of the verdicts so far that agree (null before the first), for live progress. */
  get agreementSoFar(): number | null {
    return this.samples === 0 ? null : this.agree / this.samples;
  }

  private readonly replayedFrom: Record<ReplayOrigin, number> = { audit: 0, corpus: 0 };

  /** A mirrored pair, or a replayed one and where its text came from. */
  add(pair: MirrorPair, origin?: ReplayOrigin): void {
    const before = this.samples;
    this.compare(pair);
    if (origin !== undefined) this.replayedFrom[origin] += this.samples - before;
  }

  private compare(pair: MirrorPair): void {
    if (this.colors !== undefined) {
      const live = wrongSide(
        { color: pair.active.answeredBy, version: pair.active.version ?? undefined },
        this.colors.active,
      );
      const candidate = wrongSide(
        { color: pair.standby.answeredBy, version: pair.standby.version ?? undefined },
        this.colors.candidate,
      );
      if (live !== undefined || candidate !== undefined) {
        this.misrouted++;
        this.misroutedExample ??=
          live !== undefined ? `the live side was ${live}` : `the candidate side was ${candidate}`;
        return;
      }
    }
    const parse = (body: Buffer): VerdictBody[] | null => {
      try {
        const value = JSON.parse(body.toString('utf8')) as VerdictBody;
        return value.results ?? [value];
      } catch {
        return null;
      }
    };
    const active = pair.active.status === 200 ? parse(pair.active.body) : null;
    const candidate = pair.standby.status === 200 ? parse(pair.standby.body) : null;
    if (active === null || candidate === null || active.length !== candidate.length) {
      this.incomparable++;
      return;
    }
    active.forEach((a, i) => {
      const c = candidate[i]!;
      if (!a.safety || !c.safety || !(a.safety in this.matrix) || !(c.safety in this.matrix)) {
        this.incomparable++;
        return;
      }
      this.samples++;
      this.activeLatency += pair.active.latencyMs;
      this.candidateLatency += pair.standby.latencyMs;
      this.matrix[a.safety][c.safety]++;
      const sameCategories =
        JSON.stringify([...(a.categories ?? [])].sort()) === JSON.stringify([...(c.categories ?? [])].sort());
      if (sameCategories) this.categoryAgree++;
      if (a.safety === c.safety) this.agree++;
      if (a.safety === 'Unsafe' && c.safety === 'Safe') this.unsafeToSafe++;
      if ((a.safety !== c.safety || !sameCategories) && this.disagreements.length < MAX_EXAMPLES) {
        this.disagreements.push({
          traceId: a.trace_id ?? null,
          active: { safety: a.safety, categories: a.categories ?? [] },
          candidate: { safety: c.safety, categories: c.categories ?? [] },
          request: exampleOf(pair.request.body, i, this.textMode),
        });
      }
    });
  }

  report(): ShadowEvidence {
    const n = this.samples;
    const reasons: string[] = [];
    const agreement = n === 0 ? 0 : this.agree / n;
    if (n > 0 && agreement < this.rule.minAgreement)
      reasons.push(`agreement ${(100 * agreement).toFixed(1)}% is under ${(100 * this.rule.minAgreement).toFixed(1)}%`);
    if (this.unsafeToSafe > this.rule.maxUnsafeToSafe)
      reasons.push(`${this.unsafeToSafe} Unsafe-to-Safe flips; at most ${this.rule.maxUnsafeToSafe} allowed`);
    if (this.misrouted > 0)
      reasons.push(`${this.misrouted} answers came from the wrong color (${this.misroutedExample})`);
    return {
      samples: n,
      sources: {
        mirrored: n - this.replayedFrom.audit - this.replayedFrom.corpus,
        replayed: this.replayedFrom.audit + this.replayedFrom.corpus,
        replayedFrom: { ...this.replayedFrom },
      },
      incomparable: this.incomparable,
      misrouted: this.misrouted,
      misroutedExample: this.misroutedExample,
      agreement,
      categoryAgreement: n === 0 ? 0 : this.categoryAgree / n,
      unsafeToSafe: this.unsafeToSafe,
      matrix: this.matrix,
      activeLatencyMs: { mean: n === 0 ? 0 : this.activeLatency / n },
      candidateLatencyMs: { mean: n === 0 ? 0 : this.candidateLatency / n },
      disagreements: this.disagreements,
      rule: this.rule,
      reasons,
    };
  }
}

/** Live traffic mirrored to the candidate (the router), as pairs of answers. */
export interface ShadowSource {
  setMirror(fraction: number): Promise<void>;
  onMirrorPair(listener: (pair: MirrorPair) => void): () => void;
}

/** Sends corpus entries to both colors and hands each answer pair over, until told to stop. */
/** Where a replayed text came from: the last audited texts, or a corpus. */
export type ReplayOrigin = 'audit' | 'corpus';

/** Sends replayed texts to both colors and hands back each pair of answers. */
export type Replay = (
  add: (pair: MirrorPair, origin: ReplayOrigin) => void,
  enough: () => boolean,
  signal?: AbortSignal,
) => Promise<void>;

/**
 * Mirror a fraction of live traffic until the duration passes or the sample size is reached; then, when
 * live traffic gave fewer verdicts than the sample size and a replay is configured, replay a corpus to both
 * colors until it does (or the corpus ends). The evidence says how many verdicts came from each.
 */
export async function runShadowGate(
  /** Live traffic mirrored to the candidate; none where traffic cannot be mirrored (then only the replay). */
  router: ShadowSource | undefined,
  options: {
    fraction: number;
    durationSeconds: number;
    targetSamples: number;
    onProgress?: (samples: number, agreement: number | null) => void;
    replay?: Replay | undefined;
  },
  rule: ShadowRule,
  signal?: AbortSignal,
  textMode: TextMode = 'none',
  colors?: { active: string; candidate: string },
): Promise<GateReport<ShadowEvidence>> {
  const startedAt = new Date().toISOString();
  const comparator = new ShadowComparator(rule, textMode, colors);
  if (router !== undefined) {
    const source = router;
    await new Promise<void>((resolve) => {
      // Told every second too: with no traffic to mirror, the wait itself is the progress.
      const ticker = setInterval(() => options.onProgress?.(comparator.sampleCount, comparator.agreementSoFar), 1_000);
      options.onProgress?.(comparator.sampleCount, comparator.agreementSoFar);
      const stop = () => {
        clearTimeout(timer);
        clearInterval(ticker);
        unsubscribe();
        void source.setMirror(0).finally(resolve);
      };
      const unsubscribe = source.onMirrorPair((pair) => {
        comparator.add(pair);
        options.onProgress?.(comparator.sampleCount, comparator.agreementSoFar);
        if (comparator.sampleCount >= options.targetSamples) stop();
      });
      const timer = setTimeout(stop, options.durationSeconds * 1000);
      signal?.addEventListener('abort', stop, { once: true });
      void source.setMirror(options.fraction).catch(stop);
    });
  }
  if (options.replay !== undefined && comparator.sampleCount < options.targetSamples && !signal?.aborted) {
    await options.replay(
      (pair, origin) => {
        comparator.add(pair, origin);
        options.onProgress?.(comparator.sampleCount, comparator.agreementSoFar);
      },
      () => comparator.sampleCount >= options.targetSamples,
      signal,
    );
  }
  const evidence = comparator.report();
  return { ...shadowVerdict(evidence), evidence, startedAt, finishedAt: new Date().toISOString() };
}

/** Passed, failed or inconclusive, with its summary line: judged on the evidence alone. Pure. */
export function shadowVerdict(
  evidence: ShadowEvidence,
): Pick<GateReport, 'gate' | 'passed' | 'inconclusive' | 'samples' | 'summary'> {
  const n = evidence.samples;
  const inconclusive = n < evidence.rule.minSamples;
  const matrixLine = SAFETY_TIERS.map((a) => `${a}: ${SAFETY_TIERS.map((c) => evidence.matrix[a][c]).join('/')}`).join(
    ', ',
  );
  const figures =
    n === 0
      ? 'no verdicts compared (no traffic was mirrored or replayed)'
      : `${n} verdicts compared (${evidence.sources.mirrored} mirrored, ${evidence.sources.replayed} replayed: ${evidence.sources.replayedFrom.audit} audited texts, ${evidence.sources.replayedFrom.corpus} from the corpus), ${(100 * evidence.agreement).toFixed(1)}% agree, ${evidence.unsafeToSafe} Unsafe→Safe; matrix (active→candidate Safe/Controversial/Unsafe) ${matrixLine}`;
  const verdict =
    evidence.reasons.length > 0
      ? `: ${evidence.reasons.join('; ')}`
      : inconclusive
        ? `: INCONCLUSIVE, ${n} of the ${evidence.rule.minSamples} samples needed`
        : '';
  return {
    gate: 'shadow',
    passed: evidence.reasons.length === 0 && !inconclusive,
    inconclusive: inconclusive && evidence.reasons.length === 0,
    samples: n,
    summary: `${figures}${verdict}`,
  };
}
