// A release whose store stayed unreachable longer than the bound: the durable record is the truth. Traffic
// goes back to the color it names as active, the candidate is torn down, and the release is recorded as
// aborted (or rolled back), with the outage as evidence, as soon as the store answers again.
import { setTimeout as delay } from 'node:timers/promises';
import { isGuardgateError, type GuardgateError } from '../vocabulary/errors.js';
import type { ReleaseContext } from './context.js';
import { isOpen } from './states.js';
import type { Release } from './store.js';

/** End `release` after a store outage; `closing` says the controller stops (the wait for the store ends). */
export async function failOnStoreOutage(
  ctx: ReleaseContext,
  release: Release,
  outage: GuardgateError,
  closing: () => boolean,
): Promise<void> {
  const { traffic, store, log, environments } = ctx;
  const evidence = {
    outage: { since: ctx.options.storeHealth?.degradedSince?.toISOString() ?? null, error: outage.message },
  };
  log.error({ release: release.version, err: outage }, "release failed: the controller's store is unreachable");
  await traffic.mirror?.setMirror(0);
  // Live traffic first: go back only to a previous color that can serve; otherwise keep the candidate
  // serving and leave the release open for an operator (promote, roll back) once the store answers.
  if (traffic.active !== release.previous && (await traffic.healthyCount(release.previous)) === 0) {
    log.error(
      { release: release.version },
      'store unreachable and the previous color has no healthy instance: the candidate keeps serving; decide once the store answers',
    );
    return;
  }
  if (traffic.active !== release.previous) await traffic.switchTo(release.previous, { force: true });
  await environments
    .teardownStandby(release.candidate)
    .catch((error: unknown) => log.error({ err: error }, 'teardown failed'));
  for (let wait = 1_000; ; wait = Math.min(wait * 2, 30_000)) {
    try {
      const stored = await store.release(release.id);
      if (stored === null || !isOpen(stored.state)) return; // settled meanwhile
      // A release that had switched goes back (rolled_back); one that had not is aborted.
      const end = stored.state === 'watching' ? 'rolled_back' : 'aborted';
      await store.transition(release.id, end, {
        note: `the controller's store was unreachable; ${release.previous} is active`,
        evidence,
        active: release.previous,
      });
      return;
    } catch (error) {
      if (isGuardgateError(error) && error.code !== 'store_unavailable') return;
      if (closing()) return;
      await delay(wait);
    }
  }
}
