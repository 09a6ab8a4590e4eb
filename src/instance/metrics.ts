// The instance's Prometheus metrics, on a registry of its own (several instances can share a process in tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineInfo } from '../moderation/verdict.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The instance's Prometheus metrics. */
export class InstanceMetrics {
  readonly registry = new Registry();

  /** The name progressive-delivery tools query. */
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route, method, status code and traffic (live, evidence: gates and replays, mirror: copies)',
    labelNames: ['route', 'method', 'status_code', 'traffic'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'guardgate_http_requests_in_flight',
    help: 'HTTP requests being served',
    registers: [this.registry],
  });
  readonly verdicts = new Counter({
    name: 'guardgate_verdicts_total',
    help: 'Verdicts served, by safety tier, category and target (one count per category)',
    labelNames: ['safety', 'category', 'target'] as const,
    registers: [this.registry],
  });
  readonly engineDuration = new Histogram({
    name: 'guardgate_engine_duration_seconds',
    help: 'Time the engine took for one verdict',
    labelNames: ['engine'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly engineErrors = new Counter({
    name: 'guardgate_engine_errors_total',
    help: 'Engine failures by error code',
    labelNames: ['engine', 'code'] as const,
    registers: [this.registry],
  });
  readonly degraded = new Counter({
    name: 'guardgate_degraded_verdicts_total',
    help: 'Degraded verdicts: engine_unavailable (the fallback answered), language_not_covered (the engine cannot read the text)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly cache = new Counter({
    name: 'guardgate_cache_requests_total',
    help: 'Verdict cache look-ups: hit, miss, or error (a slow or failed cache counts as a miss for the request)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly audit = new Counter({
    name: 'guardgate_audit_records_total',
    help: 'Audit records written to the store, spooled locally because it failed, or replayed from the spool',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: 'guardgate_auth_rejections_total',
    help: 'Requests refused before judging: unauthorized (no or bad credentials), forbidden (scope), rate_limited',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly rateLimitErrors = new Counter({
    name: 'guardgate_rate_limit_errors_total',
    help: 'Rate-limit look-ups that failed or were slow (Redis down): the request was let through',
    registers: [this.registry],
  });
  /** Where the audit backlog is read from at scrape time. */
  auditBacklogSource: (() => { buffered: number; spooled: number }) | undefined;
  readonly auditBacklog: Gauge<'where'>;
  readonly info = new Gauge({
    name: 'guardgate_instance_info',
    help: 'The deployed version, color and engine of this instance (always 1)',
    labelNames: ['version', 'color', 'engine', 'model', 'fingerprint'] as const,
    registers: [this.registry],
  });

  constructor(version: string, color: string | null, engine: EngineInfo) {
    collectDefaultMetrics({ register: this.registry });
    this.auditBacklog = new Gauge({
      name: 'guardgate_audit_backlog',
      help: 'Audit records not yet in the store: buffered in memory, or spooled on local disk',
      labelNames: ['where'] as const,
      registers: [this.registry],
      collect: () => {
        const backlog = this.auditBacklogSource?.();
        if (backlog === undefined) return;
        this.auditBacklog.set({ where: 'buffered' }, backlog.buffered);
        this.auditBacklog.set({ where: 'spooled' }, backlog.spooled);
      },
    });
    this.info.set(
      { version, color: color ?? '', engine: engine.name, model: engine.model, fingerprint: engine.fingerprint },
      1,
    );
  }
}
