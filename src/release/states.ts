// The release state machine: which state may follow which. Pure.

/** Every state a release can be in. */
export const RELEASE_STATES = [
  'deploying',
  'validating',
  /** A gate failed: the candidate waits (abortTeardownDelay) for an operator to force it or abort. */
  'blocked',
  'awaiting_approval',
  /** Strategy canary: the candidate takes a growing share of live traffic, step by step, each step judged. */
  'canary',
  'switching',
  'watching',
  'stable',
  'aborted',
  'rolled_back',
] as const;
/** A release's state. */
export type ReleaseState = (typeof RELEASE_STATES)[number];

/** The states a release ends in. */
export const TERMINAL: ReadonlySet<ReleaseState> = new Set(['stable', 'aborted', 'rolled_back']);

const NEXT: Readonly<Record<ReleaseState, readonly ReleaseState[]>> = {
  deploying: ['validating', 'aborted'],
  validating: ['validating', 'awaiting_approval', 'canary', 'switching', 'blocked', 'aborted'],
  blocked: ['canary', 'switching', 'aborted'],
  awaiting_approval: ['canary', 'switching', 'aborted'],
  // Each step is a transition with its evidence; a breach takes the weight back to 0 (rolled_back).
  canary: ['canary', 'switching', 'rolled_back', 'aborted'],
  switching: ['watching', 'aborted'],
  watching: ['stable', 'rolled_back'],
  // An operator may roll back a stable release while the old environment is kept.
  stable: ['rolled_back'],
  aborted: [],
  rolled_back: [],
};

/** May a release move from one state to the other? */
export const canMove = (from: ReleaseState, to: ReleaseState): boolean => NEXT[from].includes(to);
/** Is a release in this state still going? */
export const isOpen = (state: ReleaseState): boolean => !TERMINAL.has(state);
