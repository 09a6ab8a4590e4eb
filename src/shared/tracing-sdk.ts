// The OpenTelemetry SDK behind shared/tracing.ts: a tracer provider exporting OTLP/HTTP (JSON), batched, with the
// keyed sampler. Loaded only when tracing is on (openTracing).
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import {
  ParentBasedSampler,
  SamplingDecision,
  TracerProvider,
  BatchSpanProcessor,
  RandomIdGenerator,
  type IdGenerator,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HEX32, keyedSample, type Tracing, type TracingSettings } from './tracing.js';

/** Random ids, unless the next span's are preset (a trace id Guardgate already gave the request, a release's ids). */
class PresetIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  nextTraceId: string | undefined;
  nextSpanId: string | undefined;
  generateTraceId = (): string => {
    const id = this.nextTraceId ?? this.random.generateTraceId();
    this.nextTraceId = undefined;
    return id;
  };
  generateSpanId = (): string => {
    const id = this.nextSpanId ?? this.random.generateSpanId();
    this.nextSpanId = undefined;
    return id;
  };
}

/** Release traces always; other new traces at the ratio. */
function sampler(ratio: number, key: string, followCaller: boolean): Sampler {
  const ours: Sampler = {
    shouldSample: (_context, traceId, _name, _kind, attributes) =>
      attributes['guardgate.release.id'] !== undefined || keyedSample(traceId, ratio, key)
        ? { decision: SamplingDecision.RECORD_AND_SAMPLED }
        : { decision: SamplingDecision.NOT_RECORD },
    toString: () => `guardgate(${ratio})`,
  };
  // Spans under a span of this process follow it; a remote parent's flag only when the caller is trusted.
  return new ParentBasedSampler(
    followCaller ? { root: ours } : { root: ours, remoteParentSampled: ours, remoteParentNotSampled: ours },
  );
}

/** A tracer provider exporting OTLP/HTTP, batched, with the keyed sampler. */
export function startTracing(settings: TracingSettings, version: string): Tracing {
  const ids = new PresetIds();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': version }),
    sampler: sampler(settings.sampleRatio, settings.samplingKey, settings.followCaller),
    idGenerator: ids,
    // A path or a summary a caller chose is cut, not exported whole.
    spanLimits: { attributeValueLengthLimit: 512 },
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers }),
        scheduledDelayMillis: 1_000,
        maxQueueSize: 4_096,
      }),
    ],
  });
  const tracer = provider.getTracer('guardgate', version);
  return {
    start(name, options = {}) {
      const parent = options.parent ?? ROOT_CONTEXT;
      // Synchronous: the preset ids are taken by this span and no other.
      if (
        options.traceId !== undefined &&
        HEX32.test(options.traceId) &&
        !/^0+$/.test(options.traceId) &&
        trace.getSpanContext(parent) === undefined
      )
        ids.nextTraceId = options.traceId;
      if (options.spanId !== undefined) ids.nextSpanId = options.spanId;
      try {
        return tracer.startSpan(
          name,
          {
            kind: options.kind ?? SpanKind.INTERNAL,
            ...(options.attributes ? { attributes: options.attributes } : {}),
            ...(options.startTime ? { startTime: options.startTime } : {}),
          },
          parent,
        );
      } finally {
        ids.nextTraceId = undefined;
        ids.nextSpanId = undefined;
      }
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
