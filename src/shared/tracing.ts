// OpenTelemetry traces, off unless an OTLP endpoint is configured (the standard OTEL_* variables, which the
// processes Guardgate starts inherit). Spans are made through one small interface so that the hot paths pay
// nothing when tracing is off (no tracing object at all) and little when on. Export: OTLP/HTTP (JSON), batched.
// Sampling: by a keyed hash of the trace id at the configured ratio, the same decision at every hop (they share the
// ratio and the key); a caller who picks its trace id cannot pick the decision with it. A caller's sampled flag is
// followed only when OTEL_TRACES_SAMPLER=parentbased_traceidratio says to trust it (the public port would otherwise
// let anyone choose what is exported). Release traces are always kept (there are few,
// and an operator wants every one).
import { createHmac, randomBytes } from 'node:crypto';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

export { SpanKind, SpanStatusCode, type Span, type Context };

/** Where spans go and which traces are kept. */
export interface TracingSettings {
  /** Where spans go: an OTLP/HTTP traces URL (…/v1/traces). */
  endpoint: string;
  headers: Record<string, string>;
  /** The share of traces kept (0 to 1), decided by a keyed hash of the trace id. */
  sampleRatio: number;
  /** The key of that hash, shared by every hop (GUARDGATE_TRACE_SAMPLING_KEY, else the router secret; else this process's own). */
  samplingKey: string;
  /** Follow a caller's sampled flag (OTEL_TRACES_SAMPLER=parentbased_traceidratio) rather than the ratio. */
  followCaller: boolean;
  serviceName: string;
}

/** A tracing variable that cannot be used (a configuration error at start). */
export class TracingConfigError extends Error {
  override readonly name = 'TracingConfigError';
}

/** `k=v,k2=v2` (OTEL_EXPORTER_OTLP_HEADERS), values percent-decoded. */
function headerList(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/**
 * The tracing settings from the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the URL as it is) or
 * OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), OTEL_EXPORTER_OTLP[_TRACES]_HEADERS, OTEL_TRACES_SAMPLER_ARG (the
 * ratio, default 1), OTEL_SERVICE_NAME, OTEL_SDK_DISABLED. Null when no endpoint is set: tracing is off. Pure.
 */
export function tracingSettings(env: NodeJS.ProcessEnv, serviceName: string): TracingSettings | null {
  if (env.OTEL_SDK_DISABLED === 'true') return null;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : '');
  if (endpoint === '') return null;
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol))
    throw new TracingConfigError(`the OTLP endpoint must be an http(s) URL (got ${endpoint.slice(0, 100)})`);
  const samplerName = env.OTEL_TRACES_SAMPLER?.trim() || 'traceidratio';
  if (samplerName !== 'traceidratio' && samplerName !== 'parentbased_traceidratio')
    throw new TracingConfigError(
      `OTEL_TRACES_SAMPLER must be traceidratio or parentbased_traceidratio (got ${samplerName.slice(0, 60)})`,
    );
  const ratioText = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const sampleRatio = ratioText ? Number(ratioText) : 1;
  if (!Number.isFinite(sampleRatio) || sampleRatio < 0 || sampleRatio > 1)
    throw new TracingConfigError(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 (got ${ratioText})`);
  return {
    endpoint,
    headers: { ...headerList(env.OTEL_EXPORTER_OTLP_HEADERS), ...headerList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    sampleRatio,
    samplingKey:
      env.GUARDGATE_TRACE_SAMPLING_KEY?.trim() ||
      // The router secret's first line: during a rotation it lists the new one first.
      env.GUARDGATE_ROUTER_SECRET?.split('\n')[0]?.trim() ||
      randomBytes(16).toString('hex'),
    followCaller: samplerName === 'parentbased_traceidratio',
    serviceName: env.OTEL_SERVICE_NAME?.trim() || serviceName,
  };
}

const TRACEPARENT = /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;
/** A trace id: 32 hex digits. */
export const HEX32 = /^[\da-f]{32}$/;

/** The remote parent a W3C traceparent names, or none. */
export function parentOf(traceparent: string | undefined): Context {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** The traceparent that makes `span` the parent of the next hop. */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-0${traceFlags & TraceFlags.SAMPLED}`;
}

/** A parent context for spans under `span`. */
export const under = (span: Span): Context => trace.setSpan(ROOT_CONTEXT, span);

/** A remote parent with known ids (a release's root span, made later from its stored record). */
export const remoteParent = (traceId: string, spanId: string): Context =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });

/** Is this trace kept at `ratio`? By an HMAC of its id: the same answer at every hop that shares the key. Pure. */
export function keyedSample(traceId: string, ratio: number, key: string): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return createHmac('sha256', key).update(traceId).digest().readUInt32BE(0) < ratio * 2 ** 32;
}

/** How a span starts: kind, attributes, parent, preset ids, start time. */
export interface StartOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  parent?: Context;
  /** For a new trace (no parent): its id, when the request already has one (32 hex digits). */
  traceId?: string | undefined;
  /** This span's own id (16 hex digits), when it must be known beforehand. */
  spanId?: string | undefined;
  startTime?: Date;
}

/** Spans, made through one small interface (no object at all when tracing is off). */
export interface Tracing {
  start(name: string, options?: StartOptions): Span;
  /** Send what is buffered (tests, and before a process ends). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Tracing as configured, or none when it is off. The SDK (provider, exporter) is loaded only when tracing is on:
 * it is several hundred modules, a good part of a process's start.
 */
export async function openTracing(
  settings: TracingSettings | null | undefined,
  version: string,
): Promise<Tracing | undefined> {
  if (!settings) return undefined;
  const { startTracing } = await import('./tracing-sdk.js');
  return startTracing(settings, version);
}

/** Ends a span with an HTTP status: 5xx marks it as an error. */
export function endWithStatus(span: Span, status: number | 'aborted'): void {
  if (status === 'aborted') span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away' });
  else {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
