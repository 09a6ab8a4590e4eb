// Reading request bodies into typed requests: every way a body can be wrong has its own error code.
import type { ModerationInput } from '../moderation/conversation.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { isPolicy, type Policy } from '../moderation/taxonomy.js';

/** How large a request may be. */
export interface RequestLimits {
  /** Longest prompt + response, in characters. */
  textChars: number;
  /** Most inputs in one batch. */
  batchSize: number;
  /** Most characters in one request, all inputs together: the work one request may ask for. */
  totalChars: number;
}

/** One text of a /predict request. */
export interface PredictItem extends ModerationInput {
  policy: Policy;
}

/** A parsed /predict request: one text or a batch, and the policy. */
export interface PredictRequest {
  items: PredictItem[];
  /** `{"inputs": [...]}` answers `{"results": [...]}`; a single input answers one verdict. */
  batch: boolean;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function requireObject(value: unknown, where: string): Json {
  if (!isObject(value)) throw new GuardgateError('invalid_request', `${where} must be a JSON object`);
  return value;
}

function text(value: unknown, field: string, required: true): string;
function text(value: unknown, field: string, required: false): string | undefined;
function text(value: unknown, field: string, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw new GuardgateError('missing_field', `${field} is required`);
    return undefined;
  }
  if (typeof value !== 'string')
    throw new GuardgateError('invalid_type', `${field} must be a string, not ${jsonType(value)}`);
  if (value.trim() === '') throw new GuardgateError('empty_field', `${field} must not be empty`);
  return value;
}

const jsonType = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;

function policy(value: unknown, field: string, fallback: Policy): Policy {
  if (value === undefined) return fallback;
  if (!isPolicy(value))
    throw new GuardgateError(
      'unknown_policy',
      `${field} must be "strict" or "loose", not ${String(JSON.stringify(value)).slice(0, 40)}`,
    );
  return value;
}

function checkLength(chars: number, field: string, limits: RequestLimits): void {
  if (chars > limits.textChars) {
    throw new GuardgateError(
      'text_too_long',
      `${field} is ${chars} characters; the limit is ${limits.textChars} (longer text is rejected, never truncated)`,
    );
  }
}

function checkBatch(size: number, field: string, limits: RequestLimits): void {
  if (size === 0) throw new GuardgateError('empty_field', `${field} must not be empty`);
  if (size > limits.batchSize) {
    throw new GuardgateError('batch_too_large', `${field} has ${size} items; the limit is ${limits.batchSize}`);
  }
}

function checkTotal(chars: number, limits: RequestLimits): void {
  if (chars > limits.totalChars) {
    throw new GuardgateError(
      'batch_too_large',
      `the inputs hold ${chars} characters together; the limit is ${limits.totalChars} (split the batch)`,
    );
  }
}

function predictItem(body: Json, where: string, fallback: Policy, limits: RequestLimits): PredictItem {
  const prefix = where === '' ? '' : `${where}.`;
  const prompt = text(body.prompt, `${prefix}prompt`, true);
  const response = text(body.response, `${prefix}response`, false);
  checkLength(prompt.length + (response?.length ?? 0), where === '' ? 'the text' : where, limits);
  return { prompt, response, policy: policy(body.policy, `${prefix}policy`, fallback) };
}

/**
 * `POST /predict`: `{prompt, response?, policy?}` or `{inputs: [...], policy?}`.
 * @example parsePredictRequest({ prompt: 'hi' }, 'strict', { textChars: 32000, batchSize: 64, totalChars: 200000 })
 */
export function parsePredictRequest(raw: unknown, defaultPolicy: Policy, limits: RequestLimits): PredictRequest {
  const body = requireObject(raw, 'the body');
  const fallback = policy(body.policy, 'policy', defaultPolicy);
  if (body.inputs === undefined) return { items: [predictItem(body, '', fallback, limits)], batch: false };
  if (body.prompt !== undefined) throw new GuardgateError('invalid_request', 'send either prompt or inputs, not both');
  if (!Array.isArray(body.inputs))
    throw new GuardgateError('invalid_type', `inputs must be an array, not ${jsonType(body.inputs)}`);
  checkBatch(body.inputs.length, 'inputs', limits);
  const items = body.inputs.map((item, i) =>
    predictItem(requireObject(item, `inputs[${i}]`), `inputs[${i}]`, fallback, limits),
  );
  checkTotal(
    items.reduce((sum, item) => sum + item.prompt.length + (item.response?.length ?? 0), 0),
    limits,
  );
  return { items, batch: true };
}

/** A parsed /v1/moderations request. */
export interface ModerationsRequest {
  texts: string[];
  model: string | undefined;
  policy: Policy;
}

function moderationText(value: unknown, field: string, limits: RequestLimits): string {
  // The OpenAI API also takes content parts: {type: "text", text}.
  if (isObject(value)) {
    if (value.type !== 'text')
      throw new GuardgateError('invalid_request', `${field}.type must be "text"; only text is moderated`);
    return moderationText(value.text, `${field}.text`, limits);
  }
  const checked = text(value, field, true);
  checkLength(checked.length, field, limits);
  return checked;
}

/** `POST /v1/moderations`, as the OpenAI API takes it: `{input: string | string[] | parts[], model?}`. */
export function parseModerationsRequest(
  raw: unknown,
  defaultPolicy: Policy,
  limits: RequestLimits,
): ModerationsRequest {
  const body = requireObject(raw, 'the body');
  const model = body.model === undefined ? undefined : text(body.model, 'model', true);
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  if (Array.isArray(body.input)) checkBatch(inputs.length, 'input', limits);
  const texts = inputs.map((value, i) =>
    moderationText(value, Array.isArray(body.input) ? `input[${i}]` : 'input', limits),
  );
  checkTotal(
    texts.reduce((sum, text) => sum + text.length, 0),
    limits,
  );
  return { texts, model, policy: policy(body.policy, 'policy', defaultPolicy) };
}
