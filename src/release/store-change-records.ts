// The controller's store, telling the change webhook what it stored: a release opened, each transition (with
// the state it left, its actor and evidence), each operator switch. Only after the store succeeded, and
// without waiting for the webhook.
import type { Color } from '../router/routing.js';
import type { EnvironmentSpec } from './driver.js';
import { releaseRecord, type ChangeWebhook } from './change-webhook.js';
import type { ReleaseSpec } from './spec.js';
import type { ReleaseState } from './states.js';
import { CONTROLLER, type ControllerStore, type OperatorAction, type Release, type TransitionOptions } from './store.js';

export class ChangeRecordingStore implements ControllerStore {
  /** The last state seen of each release, to say which state a transition left. */
  private readonly states = new Map<number, ReleaseState>();

  constructor(
    private readonly inner: ControllerStore,
    private readonly webhook: ChangeWebhook,
  ) {}

  async createRelease(spec: ReleaseSpec, candidate: Color, previous: Color, actor: string): Promise<Release> {
    const release = await this.inner.createRelease(spec, candidate, previous, actor);
    this.states.set(release.id, release.state);
    this.webhook.post(releaseRecord(release, null, 'release.created', actor, undefined));
    return release;
  }

  async transition(id: number, to: ReleaseState, options?: TransitionOptions): Promise<Release> {
    const from = this.states.get(id) ?? null;
    const release = await this.inner.transition(id, to, options);
    this.states.set(id, release.state);
    this.webhook.post(releaseRecord(release, from, 'release.transition', options?.actor ?? CONTROLLER, options?.evidence));
    return release;
  }

  async recordAction(action: Omit<OperatorAction, 'at'>, active: Color): Promise<void> {
    await this.inner.recordAction(action, active);
    this.webhook.post({ type: 'operator.switch', actor: action.actor, switch: action.detail });
  }

  active = (): Promise<Color | null> => this.inner.active();
  setActive = (color: Color): Promise<void> => this.inner.setActive(color);
  environment = (color: Color) => this.inner.environment(color);
  saveEnvironment = (spec: EnvironmentSpec, retireAt?: string | null): Promise<void> => this.inner.saveEnvironment(spec, retireAt);
  release = (id: number) => this.inner.release(id);
  openRelease = () => this.inner.openRelease();
  latestRelease = () => this.inner.latestRelease();
  releases = (limit: number) => this.inner.releases(limit);
  transitions = (id: number) => this.inner.transitions(id);
  actions = (limit: number) => this.inner.actions(limit);
  close = (): Promise<void> => this.inner.close();
}
