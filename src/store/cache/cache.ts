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
}

export interface VerdictCache {
  get(key: string): Promise<CachedVerdict | undefined>;
  set(key: string, value: CachedVerdict): Promise<void>;
  close(): Promise<void>;
}

/** Unicode-normalised, trimmed, inner white space folded: the same text typed twice hits. */
export const normaliseForCache = (text: string): string => text.normalize('NFKC').trim().replace(/\s+/g, ' ');

export function cacheKey(engine: EngineInfo, policy: Policy, input: ModerationInput): string {
  const hash = createHash('sha256');
  for (const part of [engine.fingerprint, engine.version, policy, targetOf(input), normaliseForCache(input.prompt), normaliseForCache(input.response ?? '')]) {
    hash.update(part).update('\u0000');
  }
  return `guardgate:verdict:${hash.digest('hex')}`;
}
