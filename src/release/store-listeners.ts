// The controller's store, telling listeners what it stored: a release opened, each transition (with the state it
// left, its actor and evidence), each operator switch. Only after the store succeeded, and without waiting for
// them. Listeners: the change webhook, release traces.
import type { Color } from '../vocabulary/colors.js';
import type { EnvironmentSpec } from '../drivers/driver.js';
import type { ReleaseSpec } from './spec.js';
import type { ReleaseState } from './states.js';
import type { ControllerStore, NewOperatorAction, Release, TransitionOptions } from './store.js';

/** Told of every transition and operator action the store records. */
export interface StoreListener {
  created?(release: Release, actor: string): void;
  transitioned?(release: Release, from: ReleaseState | null, options: TransitionOptions | undefined): void;
  acted?(action: NewOperatorAction): void;
}

/** A store that tells its listeners what it recorded. */
export class ListenedStore implements ControllerStore {
  /** The last state seen of each release, to say which state a transition left. */
  private readonly states = new Map<number, ReleaseState>();

  constructor(
    private readonly inner: ControllerStore,
    private readonly listeners: readonly StoreListener[],
  ) {}

  async createRelease(spec: ReleaseSpec, candidate: Color, previous: Color, actor: string): Promise<Release> {
    const release = await this.inner.createRelease(spec, candidate, previous, actor);
    this.states.set(release.id, release.state);
    for (const listener of this.listeners) listener.created?.(release, actor);
    return release;
  }

  async transition(id: number, to: ReleaseState, options?: TransitionOptions): Promise<Release> {
    const from = this.states.get(id) ?? null;
    const release = await this.inner.transition(id, to, options);
    this.states.set(id, release.state);
    for (const listener of this.listeners) listener.transitioned?.(release, from, options);
    return release;
  }

  async recordAction(action: NewOperatorAction, active?: Color): Promise<void> {
    await this.inner.recordAction(action, active);
    for (const listener of this.listeners) listener.acted?.(action);
  }

  active = (): Promise<Color | null> => this.inner.active();
  setActive = (color: Color): Promise<void> => this.inner.setActive(color);
  environment = (color: Color) => this.inner.environment(color);
  saveEnvironment = (spec: EnvironmentSpec, retireAt?: string | null): Promise<void> =>
    this.inner.saveEnvironment(spec, retireAt);
  release = (id: number) => this.inner.release(id);
  openRelease = () => this.inner.openRelease();
  latestRelease = () => this.inner.latestRelease();
  releases = (limit: number) => this.inner.releases(limit);
  transitions = (id: number) => this.inner.transitions(id);
  actions = (limit: number) => this.inner.actions(limit);
  close = (): Promise<void> => this.inner.close();
}
