// Traffic by Kubernetes Service selector: the active Service `<app>` selects the active color's pods, the
// preview Service `<app>-preview` the standby's. A switch rewrites both selectors, and then asks the old
// pods to send their kept-alive clients elsewhere (kube-proxy pins a connection to the pod it chose).
// Better than where Argo Rollouts' users got hurt: the active Service is never pointed at a color with no
// ready pod, forced or not, so it is never left without endpoints (argo-rollouts#4750); the preview
// selector moves only to an environment that finished rolling out (#2641); old pods are told to close
// kept-alive connections (#3761). No mirroring: the shadow gate replays to both Services instead. A canary is
// made by replica ratio (replica-split.ts): the Service selects both colors' pods, the candidate sized to the
// weight; coarse, and refused where no pod count comes near a weight.
import { PatchStrategy, type KubernetesObject, type KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GuardgateError } from '../../vocabulary/errors.js';
import type { SwitchResult } from '../../router/control.js';
import { otherColor, type Color } from '../../vocabulary/colors.js';
import type { Endpoint, Traffic, TrafficWeights } from '../../release/traffic.js';
import { LABEL_APP, selectorService, type KubernetesSettings } from './manifests.js';
import { cannotSplitByReplicas, nearestSplit } from './replica-split.js';
import { applyObject, FIELD_MANAGER, readObject } from './objects.js';
import { answeredBy, endpointsMoved, endpointsSpread, readyPods } from './propagation.js';
import type { Pod } from './rollout.js';

type Service = KubernetesObject & {
  spec: { selector?: Record<string, string>; clusterIP?: string; ports: Array<{ port: number }> };
};

/** How the Service selector mode switches and checks a switch. */
export interface SelectorTrafficOptions {
  /** The admin token: old pods are asked, with it, to close their clients' connections after a switch. */
  adminToken: string;
  /** For how long old pods close every connection after their answer (0: they are not asked). */
  reconnectSeconds: number;
  /** How long a Service may take to answer from the color it now selects (EndpointSlices, kube-proxy): past it the step fails. */
  propagationTimeoutMs: number;
  /** Resize a color's Deployment, waiting for its pods (the driver's): a canary sizes the candidate to its weight. */
  scale?: (color: Color, replicas: number) => Promise<unknown>;
}

/** The Service's annotation naming the stable color while it selects both (a canary by replica ratio). */
const STABLE_ANNOTATION = 'guardgate.dev/stable';

/** Traffic moved by the selector of the Service `<app>`, checked against EndpointSlices and answers. */
export class ServiceSelectorTraffic implements Traffic {
  readonly kind = 'service-selector';
  readonly mirror = undefined;
  readonly metrics = undefined;
  /** A canary by replica ratio: the Service selects both colors, the candidate sized to the weight. */
  readonly weights: TrafficWeights = {
    sizesStandby: true,
    cannotSplit: ({ weights, stickyHeader, replicas }) =>
      stickyHeader !== undefined
        ? 'traffic service-selector cannot keep a user on one version by a header (kube-proxy picks a pod per connection): leave canary.stickyHeader out, or use traffic router'
        : cannotSplitByReplicas(weights, replicas.stable, replicas.candidate),
    setWeights: (weight, options) => this.split(weight, options?.candidateReplicas ?? 1),
  };
  private current: Color;
  private epoch = 0;
  private readonly addresses = new Map<string, string>();

  private constructor(
    private readonly api: KubernetesObjectApi,
    private readonly settings: Pick<KubernetesSettings, 'namespace' | 'app' | 'port'>,
    private readonly options: SelectorTrafficOptions,
    private readonly log: Logger,
    active: Color,
  ) {
    this.current = active;
  }

  get activeName(): string {
    return this.settings.app;
  }

  get previewName(): string {
    return `${this.settings.app}-preview`;
  }

  /** The two Services, selecting `active` and its standby (created when missing). */
  static async create(
    api: KubernetesObjectApi,
    settings: Pick<KubernetesSettings, 'namespace' | 'app' | 'port'>,
    options: SelectorTrafficOptions,
    log: Logger,
    active: Color,
  ): Promise<ServiceSelectorTraffic> {
    const traffic = new ServiceSelectorTraffic(api, settings, options, log, active);
    const existing = await traffic.read(traffic.activeName);
    // A restarted controller keeps what the cluster says is active.
    // Both colors selected: a canary was under way; its stable color is the active one, and takes all traffic back.
    const selected = existing?.spec.selector?.color ?? existing?.metadata?.annotations?.[STABLE_ANNOTATION];
    if (selected === 'blue' || selected === 'green') traffic.current = selected;
    await traffic.select(traffic.activeName, traffic.current);
    await traffic.select(traffic.previewName, otherColor(traffic.current));
    // On a first start nothing is deployed yet: the first switch waits for the Service instead.
    // A restarted controller acts on nothing here: what it sees is said, whatever it is.
    if ((await traffic.readyPods(traffic.current)).length > 0)
      await traffic
        .propagated(traffic.activeName, traffic.current)
        .catch((error: Error) =>
          log.warn({ err: error }, 'kubernetes: the active Service does not answer from the active color yet'),
        );
    return traffic;
  }

  private read(name: string): Promise<Service | undefined> {
    return readObject<Service>(this.api, 'v1', 'Service', this.settings.namespace, name);
  }

  /**
   * Point a Service at a color's pods (or both colors', `split`: a canary whose stable color is `color`), keeping
   * the rest of it (its cluster IP above all).
   */
  private async select(name: string, color: Color, split = false): Promise<void> {
    const wanted = selectorService(this.settings, name, color);
    const selector = split ? { [LABEL_APP]: this.settings.app } : wanted.spec.selector;
    let written = await applyObject<Service>(this.api, {
      ...wanted,
      metadata: { ...wanted.metadata, ...(split ? { annotations: { [STABLE_ANNOTATION]: color } } : {}) },
      spec: { ...wanted.spec, selector },
    } as Service);
    // The selector is Guardgate's whole: a key another manager set (a Guardgate before server-side apply, a hand
    // edit) would narrow it and stays through an apply; replaced, it goes.
    if (JSON.stringify(written.spec?.selector) !== JSON.stringify(selector)) {
      this.log.warn(
        { service: name, found: written.spec?.selector, wanted: selector },
        'kubernetes: replacing a selector others added keys to',
      );
      const extra = Object.keys(written.spec?.selector ?? {}).filter((key) => !(key in selector));
      const patch = { ...Object.fromEntries(extra.map((key) => [key, null])), ...selector };
      written = await this.api.patch<Service>(
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: this.settings.namespace },
          spec: { selector: patch },
        } as unknown as Service,
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        PatchStrategy.MergePatch,
      );
    }
    if (written.spec?.clusterIP) this.addresses.set(name, `http://${written.spec.clusterIP}:80`);
  }

  /** Whether the Service selects exactly this color's pods now. */
  private async selects(name: string, color: Color): Promise<boolean> {
    const selector = (await this.read(name))?.spec.selector;
    return (
      selector?.[LABEL_APP] === this.settings.app && selector.color === color && Object.keys(selector).length === 2
    );
  }

  private readyPods(color: Color): Promise<Pod[]> {
    return readyPods(this.api, this.settings, color);
  }

  /** The Service's EndpointSlices name the color's ready pods and no other, and new connections are answered by it: else the step fails. */
  private async propagated(name: string, color: Color): Promise<void> {
    await endpointsMoved(this.api, this.settings, name, color, this.options.propagationTimeoutMs);
    await answeredBy(this.endpoint(name), color, this.options.propagationTimeoutMs, `the ${name} Service`);
  }

  get active(): Color {
    return this.current;
  }

  private endpoint(name: string): Endpoint {
    const url = this.addresses.get(name);
    if (url === undefined) throw new GuardgateError('invalid_state', `the ${name} Service has no cluster IP yet`);
    return { url, headers: {} };
  }

  live(): Endpoint {
    return this.endpoint(this.activeName);
  }

  preview(): Endpoint {
    return this.endpoint(this.previewName);
  }

  /** Selectors follow labels, not addresses: an environment that finished rolling out becomes the preview. */
  async setMembers(color: Color, instances: readonly string[], _version: string | null): Promise<void> {
    if (color === this.current || instances.length === 0) return;
    await this.select(this.previewName, color);
    // The gates start next: the preview Service must answer from the candidate by then.
    await this.propagated(this.previewName, color);
  }

  async switchTo(to: Color): Promise<SwitchResult> {
    const previous = this.current;
    if (to === previous && (await this.selects(this.activeName, to))) {
      // Already selected (a restarted controller confirming what it adopted): nothing moves, so nothing to refuse,
      // even while that color has no ready pod yet (its pods still starting, as after `kubectl apply -k`).
      await this.select(this.previewName, otherColor(to));
      // Serving already: the Service must answer from it before this returns (clients come next).
      if ((await this.readyPods(to)).length > 0) await this.propagated(this.activeName, to);
      return { previous, active: to, at: new Date().toISOString(), epoch: this.epoch };
    }
    if ((await this.readyPods(to)).length === 0) {
      // Forced or not: a Service with no endpoints fails every request.
      throw new GuardgateError(
        'switch_refused',
        `the ${to} environment has no ready pod; the ${this.activeName} Service is not pointed at it, even when forced`,
      );
    }
    const oldPods = previous === to ? [] : await this.readyPods(previous);
    await this.select(this.activeName, to);
    await this.select(this.previewName, otherColor(to));
    this.current = to;
    await this.propagated(this.activeName, to);
    this.epoch++;
    const at = new Date().toISOString();
    this.log.info({ from: previous, to, service: this.activeName }, 'kubernetes: active Service switched');
    if (this.options.reconnectSeconds > 0) await Promise.all(oldPods.map((pod) => this.reconnect(pod)));
    return { previous, active: to, at, epoch: this.epoch };
  }

  /** Ask every ready pod of a color that lost share to close its kept-alive connections (unless reconnectSeconds is 0). */
  private async reconnectAll(color: Color): Promise<void> {
    if (this.options.reconnectSeconds === 0) return;
    await Promise.all((await this.readyPods(color)).map((pod) => this.reconnect(pod)));
  }

  /** Ask an old pod to close its kept-alive connections, so that clients reconnect through the new selector. */
  private async reconnect(pod: Pod): Promise<void> {
    const url = `http://${pod.status!.podIP}:${this.settings.port}/admin/reconnect`;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ seconds: this.options.reconnectSeconds }),
        signal: AbortSignal.timeout(2_000),
      });
      if (!response.ok) throw new Error(`answered ${response.status}`);
    } catch (error) {
      this.log.warn(
        { pod: pod.metadata?.name, err: error },
        'kubernetes: an old pod could not be asked to close its connections',
      );
    }
  }

  /**
   * The candidate's share of new connections: 0, the stable color alone; 100, the candidate alone at full size;
   * between, both colors selected with the candidate sized to the nearest share its pods can make.
   */
  private async split(weight: number, candidateReplicas: number): Promise<void> {
    const stable = this.current;
    const candidate = otherColor(stable);
    if (weight === 0) {
      await this.select(this.activeName, stable);
      await this.propagated(this.activeName, stable);
      await this.reconnectAll(candidate);
      this.log.info({ stable }, 'kubernetes: the canary takes no traffic: the Service selects the stable color alone');
      return;
    }
    if (this.options.scale === undefined)
      throw new GuardgateError('invalid_state', 'this Service selector traffic cannot resize environments');
    if (weight === 100) {
      await this.options.scale(candidate, candidateReplicas);
      await this.select(this.activeName, candidate);
      await this.propagated(this.activeName, candidate);
      await this.reconnectAll(stable);
      this.log.info({ candidate }, 'kubernetes: the canary takes all traffic: the Service selects it alone');
      return;
    }
    const stablePods = (await this.readyPods(stable)).length;
    const { replicas, share } = nearestSplit(weight, stablePods, candidateReplicas);
    await this.options.scale(candidate, replicas);
    await this.select(this.activeName, stable, true);
    await endpointsSpread(this.api, this.settings, this.activeName, this.options.propagationTimeoutMs);
    // Kept-alive clients stay on the pod they landed on: the stable pods ask theirs to reconnect, and kube-proxy
    // spreads the new connections over both colors.
    await this.reconnectAll(stable);
    this.log.info(
      { weight, share: Math.round(share), stablePods, candidatePods: replicas },
      'kubernetes: the canary by replica ratio: the Service selects both colors',
    );
  }

  async healthyCount(color: Color): Promise<number> {
    return (await this.readyPods(color)).length;
  }
}
