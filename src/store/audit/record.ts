// One audit record per verdict served, built from the verdict and what was judged.
import { createHash, randomUUID } from 'node:crypto';
import type { ModerationInput } from '../../moderation/conversation.js';
import { redactPii } from '../../moderation/pii.js';
import type { Verdict } from '../../moderation/verdict.js';

/** What of the judged text is kept: nothing (a digest only), all of it, or all of it with PII masked. */
export type TextMode = 'none' | 'full' | 'redacted';

/** One audited verdict. */
export interface AuditRecord {
  /** Made by the server for each verdict served: the key that makes writes idempotent. */
  id: string;
  /** The trace id: the client's (traceparent, x-request-id) when it sent one. Not unique: clients choose it. */
  trace_id: string;
  time: string;
  color: string | null;
  version: string;
  engine: string;
  model: string;
  engine_version: string;
  target: string;
  language: string | null;
  text_digest: string;
  prompt: string | null;
  response: string | null;
  safety: string;
  categories: string[];
  refusal: boolean | null;
  flagged: boolean;
  policy: string;
  latency_ms: number;
  cached: boolean;
  degraded: boolean;
}

/** The SHA-256 of the judged text: what is kept when the text is not. */
export const textDigest = (input: ModerationInput): string =>
  createHash('sha256')
    .update(input.prompt)
    .update('\u0000')
    .update(input.response ?? '')
    .digest('hex');

/** What the text policy keeps of a text: nothing, the text with PII masked, or all of it. */
export const keptText = (text: string | undefined, mode: TextMode): string | null =>
  text === undefined || mode === 'none' ? null : mode === 'redacted' ? redactPii(text) : text;

/** A verdict as an audit record, keeping of the text what the policy allows. */
export function toAuditRecord(
  verdict: Verdict,
  input: ModerationInput,
  mode: TextMode,
  at: Date = new Date(),
): AuditRecord {
  return {
    id: randomUUID(),
    trace_id: verdict.trace_id,
    time: at.toISOString(),
    color: verdict.color,
    version: verdict.version,
    engine: verdict.engine.name,
    model: verdict.model,
    engine_version: verdict.engine.version,
    target: verdict.target,
    language: verdict.language,
    text_digest: textDigest(input),
    prompt: keptText(input.prompt, mode),
    response: keptText(input.response, mode),
    safety: verdict.safety,
    categories: verdict.categories,
    refusal: verdict.refusal,
    flagged: verdict.flagged,
    policy: verdict.policy,
    latency_ms: verdict.latency_ms,
    cached: verdict.cached,
    degraded: verdict.degraded,
  };
}
