// The controller's store through an outage: every call is tried again with backoff while the database is
// unreachable, up to `outageMs`; then it fails with store_unavailable, which the controller answers by
// failing the release in progress (the data path never depends on the store). Answers of the store itself
// (release_in_progress, invalid_state) are never retried.
import { setTimeout as delay } from 'node:timers/promises';
import { GuardgateError, isGuardgateError } from '../moderation/errors.js';
import type { ControllerStore } from './store.js';

export interface StoreHealth {
  /** Since when calls have been failing, or null while the store answers. */
  degradedSince: Date | null;
  lastError: string | null;
}

export class ResilientStore implements ControllerStore, StoreHealth {
  degradedSince: Date | null = null;
  lastError: string | null = null;

  constructor(
    private readonly inner: ControllerStore,
    private readonly outageMs: number,
  ) {}

  private async attempt<T>(operation: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        const value = await operation();
        this.degradedSince = null;
        this.lastError = null;
        return value;
      } catch (error) {
        if (isGuardgateError(error)) throw error;
        this.degradedSince ??= new Date();
        this.lastError = (error as Error).message;
        if (Date.now() - started + wait > this.outageMs) {
          throw new GuardgateError('store_unavailable', `the controller's store has been unreachable for ${Math.round((Date.now() - this.degradedSince.getTime()) / 1000)} s: ${this.lastError}`, {
            cause: error,
            retryAfter: 5,
          });
        }
        await delay(wait);
      }
    }
  }

  active: ControllerStore['active'] = () => this.attempt(() => this.inner.active());
  setActive: ControllerStore['setActive'] = (color) => this.attempt(() => this.inner.setActive(color));
  environment: ControllerStore['environment'] = (color) => this.attempt(() => this.inner.environment(color));
  saveEnvironment: ControllerStore['saveEnvironment'] = (spec, retireAt) => this.attempt(() => this.inner.saveEnvironment(spec, retireAt));
  createRelease: ControllerStore['createRelease'] = (spec, candidate, previous, actor) => this.attempt(() => this.inner.createRelease(spec, candidate, previous, actor));
  transition: ControllerStore['transition'] = (id, to, options) => this.attempt(() => this.inner.transition(id, to, options));
  release: ControllerStore['release'] = (id) => this.attempt(() => this.inner.release(id));
  openRelease: ControllerStore['openRelease'] = () => this.attempt(() => this.inner.openRelease());
  latestRelease: ControllerStore['latestRelease'] = () => this.attempt(() => this.inner.latestRelease());
  releases: ControllerStore['releases'] = (limit) => this.attempt(() => this.inner.releases(limit));
  transitions: ControllerStore['transitions'] = (id) => this.attempt(() => this.inner.transitions(id));
  close: ControllerStore['close'] = () => this.inner.close();
}
