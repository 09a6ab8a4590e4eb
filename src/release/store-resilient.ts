// The controller's store through an outage: every call is tried again with backoff while the database is
// unreachable, up to `outageMs`; then it fails with store_unavailable, which the controller answers by
// failing the release in progress (the data path never depends on the store). Answers of the store itself
// (release_in_progress, invalid_state) are never retried.
import { setTimeout as delay } from 'node:timers/promises';
import { GuardgateError, isGuardgateError } from '../vocabulary/errors.js';
import type { ControllerStore } from './store.js';

/** Whether the store answers, and since when it has not. */
export interface StoreHealth {
  /** Since when calls have been failing, or null while the store answers. */
  degradedSince: Date | null;
  lastError: string | null;
}

/** A store whose calls ride out an outage up to a deadline, and say when it is down. */
export class ResilientStore implements ControllerStore, StoreHealth {
  degradedSince: Date | null = null;
  lastError: string | null = null;
  private stopped = false;
  private probing: Promise<unknown> | undefined;

  constructor(
    private readonly inner: ControllerStore,
    private readonly outageMs: number,
  ) {}

  /**
   * Run `operation`, again with backoff while the store is unreachable. A retry after a failure may find that
   * the first try was written after all (its answer was lost): `settled` says whether the store's answer to
   * the retry means exactly that, and then the retry counts as done.
   */
  private async attempt<T>(
    operation: () => Promise<T>,
    settled?: (error: unknown) => Promise<T | undefined>,
  ): Promise<T> {
    const started = Date.now();
    let retried = false;
    for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
      if (this.stopped) throw new GuardgateError('store_unavailable', 'the controller is closing', { retryAfter: 5 });
      try {
        const value = await operation();
        this.degradedSince = null;
        this.lastError = null;
        return value;
      } catch (error) {
        if (isGuardgateError(error)) {
          const done = retried && settled ? await settled(error) : undefined;
          if (done !== undefined) return done;
          throw error;
        }
        retried = true;
        this.degradedSince ??= new Date();
        this.lastError = (error as Error).message;
        if (Date.now() - started + wait > this.outageMs) {
          throw new GuardgateError(
            'store_unavailable',
            `the controller's store has been unreachable for ${Math.round((Date.now() - this.degradedSince.getTime()) / 1000)} s: ${this.lastError}`,
            {
              cause: error,
              retryAfter: 5,
            },
          );
        }
        await delay(wait);
      }
    }
  }

  active: ControllerStore['active'] = () => this.attempt(() => this.inner.active());
  setActive: ControllerStore['setActive'] = (color) => this.attempt(() => this.inner.setActive(color));
  environment: ControllerStore['environment'] = (color) => this.attempt(() => this.inner.environment(color));
  saveEnvironment: ControllerStore['saveEnvironment'] = (spec, retireAt) =>
    this.attempt(() => this.inner.saveEnvironment(spec, retireAt));
  // A retried create whose first try was written: the open release is this one (same version and colors).
  createRelease: ControllerStore['createRelease'] = (spec, candidate, previous, actor) =>
    this.attempt(
      () => this.inner.createRelease(spec, candidate, previous, actor),
      async (error) => {
        if (!isGuardgateError(error) || error.code !== 'release_in_progress') return undefined;
        const open = await this.inner.openRelease();
        return open !== null &&
          open.version === spec.version &&
          open.candidate === candidate &&
          open.previous === previous &&
          open.state === 'deploying'
          ? open
          : undefined;
      },
    );
  // A retried move whose first try was written: the release is already where it was to go.
  transition: ControllerStore['transition'] = (id, to, options) =>
    this.attempt(
      () => this.inner.transition(id, to, options),
      async (error) => {
        if (!isGuardgateError(error) || error.code !== 'invalid_state') return undefined;
        const release = await this.inner.release(id);
        return release !== null && release.state === to ? release : undefined;
      },
    );
  release: ControllerStore['release'] = (id) => this.attempt(() => this.inner.release(id));
  openRelease: ControllerStore['openRelease'] = () => this.attempt(() => this.inner.openRelease());
  latestRelease: ControllerStore['latestRelease'] = () => this.attempt(() => this.inner.latestRelease());
  releases: ControllerStore['releases'] = (limit) => this.attempt(() => this.inner.releases(limit));
  transitions: ControllerStore['transitions'] = (id) => this.attempt(() => this.inner.transitions(id));
  recordAction: ControllerStore['recordAction'] = (action, active) =>
    this.attempt(() => this.inner.recordAction(action, active));
  actions: ControllerStore['actions'] = (limit) => this.attempt(() => this.inner.actions(limit));
  close: ControllerStore['close'] = () => this.inner.close();

  /** Calls fail at once from now on (the controller is closing): nothing waits out an outage. */
  stop(): void {
    this.stopped = true;
  }

  /** While degraded: one quick try at a time (2 s at most) that clears the flag when the store answers. */
  probe(): void {
    if (this.probing !== undefined || this.degradedSince === null || this.stopped) return;
    const timeout = delay(2_000).then(() => {
      throw new Error('the store did not answer within 2 s');
    });
    this.probing = Promise.race([this.inner.active(), timeout])
      .then(() => {
        this.degradedSince = null;
        this.lastError = null;
      })
      .catch((error: unknown) => (this.lastError = (error as Error).message))
      .finally(() => (this.probing = undefined));
  }
}
