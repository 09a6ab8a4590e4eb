// The service's one job: turn an input into a served verdict (cache, engine, policy, language, timing,
// metrics), and audit every verdict served.
import { performance } from 'node:perf_hooks';
import type { ClassifyOptions, DegradedReason, Engine, EngineResult } from '../engines/engine.js';
import { judgedText, targetOf, type ModerationInput } from '../moderation/conversation.js';
import { GuardgateError, isGuardgateError } from '../vocabulary/errors.js';
import { isFlagged } from '../moderation/policy.js';
import type { Policy } from '../moderation/taxonomy.js';
import type { Verdict } from '../moderation/verdict.js';
import type { AuditLog } from '../store/audit/log.js';
import { toAuditRecord, type TextMode } from '../store/audit/record.js';
import { cacheKey, type CachedVerdict, type VerdictCache } from '../store/cache/cache.js';
import type { InstanceMetrics } from './metrics.js';
import { SpanKind, SpanStatusCode, traceparentOf, under, type Span, type Tracing } from '../shared/tracing.js';

/** Who the moderator answers as: color, version, how uncovered languages are flagged. */
export interface ModeratorIdentity {
  version: string;
  color: string | null;
  /** What a verdict on text the engine cannot read means; default: the policy's reading of Controversial. */
  uncovered?: 'flag' | 'pass' | undefined;
}

/** What the moderator is given: cache, audit, tracing, language detection. */
export interface ModeratorStores {
  cache?: VerdictCache | undefined;
  audit?: AuditLog | undefined;
  auditText?: TextMode;
  /** Where spans go, when tracing is on. */
  tracing?: Tracing | undefined;
  /** The language of a text, for the verdict and the audit (moderation/language.ts over the loaded model). */
  detectLanguage?: ((text: string) => string | null) | undefined;
}

/** One request's context: trace id, whether it is a mirror copy or evidence, its span. */
export interface JudgeContext {
  traceId: string;
  /** A copy the router mirrored to this (standby) color: not served to anyone, so not audited. */
  mirrored?: boolean;
  /** Gate, bench or replay traffic: not audited, and judged by the engine (no cache). */
  evidence?: boolean;
  signal?: AbortSignal;
  /** This verdict's span (tracing on): told what was judged, parent of the engine's span. */
  span?: Span | undefined;
}

/** Judges a text: cache, engine, metrics, audit (before the answer), trace. */
export class Moderator {
  constructor(
    readonly engine: Engine,
    private readonly identity: ModeratorIdentity,
    private readonly metrics: InstanceMetrics,
    private readonly stores: ModeratorStores = {},
  ) {}

  /** A cache that fails or is slow is a miss: it never fails a request. */
  private async lookUp(key: string): Promise<CachedVerdict | undefined> {
    try {
      const hit = await this.stores.cache!.get(key);
      this.metrics.cache.inc({ result: hit ? 'hit' : 'miss' });
      return hit;
    } catch {
      this.metrics.cache.inc({ result: 'error' });
      return undefined;
    }
  }

  private async classify(
    input: ModerationInput,
    signal: AbortSignal | undefined,
    parent: Span | undefined,
  ): Promise<EngineResult> {
    const { info } = this.engine;
    const span =
      parent &&
      this.stores.tracing?.start('guardgate.engine', {
        kind: SpanKind.CLIENT,
        parent: under(parent),
        attributes: {
          'guardgate.engine': info.name,
          'guardgate.model': info.model,
          'guardgate.engine_version': info.version,
        },
      });
    try {
      const options: ClassifyOptions = signal ? { signal } : {};
      if (span !== undefined) options.traceparent = traceparentOf(span);
      const result = await this.engine.classify(input, options);
      if (span !== undefined) {
        if (result.usage)
          span.setAttributes({
            'gen_ai.usage.input_tokens': result.usage.promptTokens,
            'gen_ai.usage.output_tokens': result.usage.completionTokens,
          });
        if (result.engine !== info) span.setAttributes({ 'guardgate.answered_by': result.engine.name });
      }
      return result;
    } catch (error) {
      const code = isGuardgateError(error) ? error.code : 'internal';
      this.metrics.engineErrors.inc({ engine: info.name, code });
      span?.setStatus({ code: SpanStatusCode.ERROR, message: code });
      throw error;
    } finally {
      span?.end();
    }
  }

  async judge(input: ModerationInput, policy: Policy, context: JudgeContext): Promise<Verdict> {
    // A verdict that could not be audited is not served: the audit log holds all it may in memory.
    if (!context.mirrored && !context.evidence && this.stores.audit?.saturated) {
      throw new GuardgateError(
        'audit_unavailable',
        'the audit log cannot store verdicts now (store and spool failing); try again shortly',
        { retryAfter: 5 },
      );
    }
    const started = performance.now();
    const { cache } = this.stores;
    const key = cache === undefined || context.evidence ? undefined : cacheKey(this.engine.info, policy, input);
    let answer: CachedVerdict | undefined = key === undefined ? undefined : await this.lookUp(key);
    const cached = answer !== undefined;
    let degraded: DegradedReason | null = null;
    if (answer === undefined) {
      const result = await this.classify(input, context.signal, context.span);
      this.metrics.engineDuration.observe({ engine: this.engine.info.name }, (performance.now() - started) / 1000);
      degraded = result.degraded ? (result.degradedReason ?? 'engine_unavailable') : null;
      answer = {
        safety: result.safety,
        categories: result.categories,
        refusal: result.refusal,
        engine: result.engine,
        explanation: result.explanation,
      };
      // A fallback's verdict must never be served later as the primary engine's.
      if (key !== undefined && degraded === null)
        cache!.set(key, answer).catch(() => this.metrics.cache.inc({ result: 'error' }));
    }
    const target = targetOf(input);
    if (degraded !== null) this.metrics.degraded.inc({ reason: degraded });
    if (answer.categories.length === 0) this.metrics.verdicts.inc({ safety: answer.safety, category: 'None', target });
    for (const category of answer.categories) this.metrics.verdicts.inc({ safety: answer.safety, category, target });
    const verdict: Verdict = {
      trace_id: context.traceId,
      target,
      safety: answer.safety,
      categories: answer.categories,
      refusal: answer.refusal,
      // Text the engine cannot read: flagged as the deployment says, else as the policy reads Controversial.
      flagged:
        degraded === 'language_not_covered' && this.identity.uncovered !== undefined
          ? this.identity.uncovered === 'flag'
          : isFlagged(answer.safety, policy),
      policy,
      model: answer.engine.model,
      version: this.identity.version,
      color: this.identity.color,
      language: this.stores.detectLanguage?.(judgedText(input)) ?? null,
      latency_ms: Math.round((performance.now() - started) * 100) / 100,
      cached,
      degraded: degraded !== null,
      degraded_reason: degraded,
      explanation: answer.explanation ?? null,
      engine: answer.engine,
    };
    // Answered only once its record is in the journal: a kill -9 after this loses nothing served.
    if (!context.mirrored && !context.evidence)
      await this.stores.audit?.record(toAuditRecord(verdict, input, this.stores.auditText ?? 'none'));
    context.span?.setAttributes({
      'guardgate.policy': policy,
      'guardgate.target': target,
      'guardgate.cached': cached,
      'guardgate.language': verdict.language ?? 'unknown',
      'guardgate.safety': verdict.safety,
      'guardgate.degraded': verdict.degraded,
    });
    return verdict;
  }
}
