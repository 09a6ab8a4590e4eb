// The verdict cache: one interface, in-memory LRU (default) or Redis (shared by both colors).
// The key carries the engine fingerprint and version, the policy and the target, so that a switch needs
// no flush and a rollback can never serve the other version's verdicts.
import { createHash } from 'node:crypto';
import type { ModerationInput } from '../../moderation/conversation.js';
import { targetOf } from '../../moderation/conversation.js';
import type { Policy } from '../../moderation/taxonomy.js';
import type { EngineInfo, GuardOutput } from '../../moderation/verdict.js';

/** What is cached: the engine's answer, not the request's trace id, timing or policy decision. */
export interface CachedVerdict extends GuardOutput {
  engine: EngineInfo;
  explanation?: string | undefined;
}

/** Where verdicts are cached by their key (memory or Redis: one contract test). */
export interface VerdictCache {
  get(key: string): Promise<CachedVerdict | undefined>;
  set(key: string, value: CachedVerdict): Promise<void>;
  close(): Promise<void>;
}

/**
 * The key of exactly what the engine judges: the text as sent, not a normalised form of it. Two texts that
 * some normaliser calls equal are not always judged equal (a rule, or a model, reads the newlines a folding
 * would hide), and one cached verdict would then be served for both: a poisoned cache. Only the same text
 * hits; the length-prefixed parts cannot run into each other.
 */
export function cacheKey(engine: EngineInfo, policy: Policy, input: ModerationInput): string {
  const hash = createHash('sha256');
  for (const part of [
    engine.fingerprint,
    engine.version,
    policy,
    targetOf(input),
    input.prompt,
    input.response ?? '',
  ]) {
    hash.update(`${Buffer.byteLength(part)}:`).update(part);
  }
  return `guardgate:verdict:${hash.digest('hex')}`;
}
