// The closed set of error codes the API answers with, each mapped to one HTTP status.

/** Every error code the product answers with, and its HTTP status. */
export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_request: 400,
  missing_field: 400,
  empty_field: 400,
  invalid_type: 400,
  unknown_policy: 400,
  unsupported_media_type: 415,
  expectation_failed: 417,
  headers_too_large: 431,
  request_timeout: 408,
  body_too_large: 413,
  text_too_long: 413,
  batch_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  endpoint_not_allowed: 403,
  rate_limited: 429,
  not_found: 404,
  method_not_allowed: 405,
  switch_refused: 409,
  release_in_progress: 409,
  invalid_state: 409,
  engine_invalid_output: 502,
  engine_unavailable: 503,
  engine_busy: 503,
  audit_unavailable: 503,
  store_unavailable: 503,
  engine_timeout: 504,
  no_healthy_upstream: 503,
  overloaded: 503,
  upstream_unavailable: 502,
  gate_error: 502,
  endpoint_unreachable: 503,
  upstream_timeout: 504,
  /** A traffic change did not reach the cluster (EndpointSlices, route status, answers) within its deadline. */
  propagation_timeout: 504,
  internal: 500,
} as const;

/** A stable error code callers switch on. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** How an error came about, and when a client may ask again. */
export interface GuardgateErrorOptions {
  cause?: unknown;
  /** Seconds a client should wait before trying again (sent as `Retry-After`). */
  retryAfter?: number;
}

/**
 * An error with a stable code that callers switch on.
 * @example throw new GuardgateError('text_too_long', 'prompt is 40000 characters; the limit is 32000')
 */
export class GuardgateError extends Error {
  readonly code: ErrorCode;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: GuardgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GuardgateError';
    this.code = code;
    this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** The JSON body every route answers with. */
  toBody(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Headers that go with an error: `Retry-After`, and the Bearer challenge on 401 and 403 (RFC 6750). */
export function errorHeaders(error: GuardgateError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  if (error.code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="guardgate"';
  if (error.code === 'forbidden') headers['www-authenticate'] = 'Bearer realm="guardgate", error="insufficient_scope"';
  return headers;
}

/** Is this one of ours (with a stable code), or anything else (an internal error)? */
export const isGuardgateError = (error: unknown): error is GuardgateError => error instanceof GuardgateError;
