// What the controller does on start: exactly one active color, serving. The recorded active environment is
// adopted where it still runs (Kubernetes: never redeployed, restarted or deleted by a restart), else brought
// up; a kept old environment keeps its retire time; an interrupted release is watched again (it had
// switched) or aborted with its candidate discarded.
import type { EnvironmentSpec } from '../drivers/driver.js';
import { otherColor } from '../vocabulary/colors.js';
import type { ReleaseContext } from './context.js';
import type { Release } from './store.js';

/** What start leaves to the controller: a release to watch again, and a kept environment being redeployed. */
export interface Converged {
  /** An interrupted release that had switched: its watch runs again. */
  watch?: Release;
  /** A kept environment that died with the previous controller, being redeployed beside the active one. */
  restoringKept?: Promise<void>;
}

/** Bring the recorded state back to life after a start; see the file's header. */
export async function converge(ctx: ReleaseContext): Promise<Converged> {
  const { store, driver, traffic, log, environments, options } = ctx;
  const active = (await store.active()) ?? options.initial.color;
  const stored = (await store.environment(active))?.spec ?? { ...options.initial, color: active };
  const adopted = await driver.adopt(stored);
  if (adopted === null) await environments.bringUp(stored);
  else await environments.route(adopted);
  await traffic.switchTo(active, { force: true });
  // Pods its cluster replaces (an eviction, a node drain) come back at new addresses: the router follows.
  driver.onInstancesChanged?.((deployment) => {
    environments
      .route(deployment)
      .catch((error: unknown) =>
        log.warn({ err: error, color: deployment.color }, 'following the instances of an environment failed'),
      );
  });
  await store.setActive(active);
  await store.saveEnvironment(stored);
  const other = await store.environment(otherColor(active));
  const open = await store.openRelease();
  if (open === null) {
    if (other === null) return {};
    const kept = await driver.adopt(other.spec);
    if (kept !== null) await environments.route(kept);
    const keptFor = other.retireAt === null ? 0 : Date.parse(other.retireAt) - Date.now();
    // A kept old environment that outlived the previous controller (Kubernetes) stays kept until its retire
    // time; one that died with it (local processes) is brought back beside the active one while it is still
    // to be kept, so that the release's "kept for an instant rollback" stays true and a rollback one step.
    if (driver.describe(other.spec.color) !== null && other.retireAt !== null)
      environments.scheduleRetire(other.spec.color, Math.max(0, keptFor));
    else if (keptFor > 0) return { restoringKept: restoreKept(ctx, other.spec, keptFor) };
    else await store.saveEnvironment(other.spec, new Date().toISOString());
    return {};
  }
  if (open.state === 'watching' && active === open.candidate) {
    log.warn({ release: open.version }, 'controller restarted while watching: watching again');
    return { watch: open };
  }
  // A candidate that outlived the previous controller (Kubernetes) is torn down; local ones died with it.
  await environments
    .teardownStandby(open.candidate)
    .catch((error: unknown) =>
      log.error({ err: error, color: open.candidate }, 'teardown of the interrupted candidate failed'),
    );
  await store.transition(open.id, 'aborted', {
    note: `controller restarted while ${open.state}; the candidate was discarded and ${active} stays active`,
  });
  log.warn({ release: open.version, state: open.state }, 'controller restarted mid-release: release aborted');
  return {};
}

/** Redeploys a kept environment that did not survive a restart, and retires it at its time; if it cannot come back, it is recorded as retired. */
async function restoreKept(
  { environments, log, store }: ReleaseContext,
  spec: EnvironmentSpec,
  keptFor: number,
): Promise<void> {
  try {
    await environments.bringUp(spec);
    environments.scheduleRetire(spec.color, keptFor);
    log.info(
      { color: spec.color, version: spec.version },
      'kept environment redeployed after the restart: a rollback stays one atomic switch',
    );
  } catch (error) {
    log.error(
      { err: error, color: spec.color },
      'the kept environment could not be redeployed after the restart: a rollback will redeploy it',
    );
    await store.saveEnvironment(spec, new Date().toISOString()).catch(() => undefined);
  }
}
