// The service's one job: turn an input into a served verdict (engine, policy, language, timing, metrics).
import { performance } from 'node:perf_hooks';
import type { Engine } from '../engines/engine.js';
import { targetOf, judgedText, type ModerationInput } from '../moderation/conversation.js';
import { isGuardgateError } from '../moderation/errors.js';
import { detectLanguage } from '../moderation/language.js';
import { isFlagged } from '../moderation/policy.js';
import type { Policy } from '../moderation/taxonomy.js';
import type { Verdict } from '../moderation/verdict.js';
import type { InstanceMetrics } from './metrics.js';

export interface ModeratorIdentity {
  version: string;
  color: string | null;
}

export class Moderator {
  constructor(
    readonly engine: Engine,
    private readonly identity: ModeratorIdentity,
    private readonly metrics: InstanceMetrics,
  ) {}

  async judge(input: ModerationInput, policy: Policy, traceId: string, signal?: AbortSignal): Promise<Verdict> {
    const started = performance.now();
    const engineName = this.engine.info.name;
    let result;
    try {
      result = await this.engine.classify(input, signal ? { signal } : {});
    } catch (error) {
      this.metrics.engineErrors.inc({ engine: engineName, code: isGuardgateError(error) ? error.code : 'internal' });
      throw error;
    }
    const latency = performance.now() - started;
    this.metrics.engineDuration.observe({ engine: engineName }, latency / 1000);
    const target = targetOf(input);
    if (result.degraded) this.metrics.degraded.inc();
    if (result.categories.length === 0) this.metrics.verdicts.inc({ safety: result.safety, category: 'None', target });
    for (const category of result.categories) this.metrics.verdicts.inc({ safety: result.safety, category, target });
    return {
      trace_id: traceId,
      target,
      safety: result.safety,
      categories: result.categories,
      refusal: result.refusal,
      flagged: isFlagged(result.safety, policy),
      policy,
      model: result.engine.model,
      version: this.identity.version,
      color: this.identity.color,
      language: detectLanguage(judgedText(input)),
      latency_ms: Math.round(latency * 100) / 100,
      cached: false,
      degraded: result.degraded,
      engine: result.engine,
    };
  }
}
