// Trace ids: honour an incoming W3C `traceparent` or `x-request-id`, else make one.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

// W3C trace context: version ff is invalid; a span id of zeros too.
const TRACEPARENT = /^(?!ff)[\da-f]{2}-([\da-f]{32})-(?!0{16})[\da-f]{16}-[\da-f]{2}$/;
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;
const ALL_ZERO_TRACE = '0'.repeat(32);

/** A new trace id in W3C form (32 lower-case hex digits). */
export const newTraceId = (): string => randomUUID().replace(/-/g, '');

/** A request's trace id: its traceparent's, its x-request-id, or a new one. */
export function traceIdFrom(headers: IncomingHttpHeaders): string {
  const traceparent = headers.traceparent;
  if (typeof traceparent === 'string') {
    const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
    if (match && match[1] !== ALL_ZERO_TRACE) return match[1]!;
  }
  const requestId = headers['x-request-id'];
  if (typeof requestId === 'string' && REQUEST_ID.test(requestId)) return requestId;
  return newTraceId();
}
