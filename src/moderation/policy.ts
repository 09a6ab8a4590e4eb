// The policy decides which tiers are flagged: strict flags Controversial, loose does not.
import type { Policy, Safety } from './taxonomy.js';

/** Is a verdict flagged under this policy (strict: Controversial is; loose: it is not)? */
export function isFlagged(safety: Safety, policy: Policy): boolean {
  return safety === 'Unsafe' || (safety === 'Controversial' && policy === 'strict');
}
