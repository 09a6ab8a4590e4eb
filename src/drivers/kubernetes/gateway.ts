// Traffic by Gateway API: an HTTPRoute `<app>` attached to the operator's Gateway sends each request to the
// color Services `<app>-blue` and `<app>-green` by weight (100/0: the active color), and a request carrying
// the preview header with this deployment's preview token to the standby. The gateway routes per request,
// so a switch moves kept-alive clients at once (no pinning, no drain). A RequestMirror filter can copy live
// traffic to the standby, but its answers never come back to the controller: the shadow gate replays.
import { createHash } from 'node:crypto';
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GuardgateError } from '../../vocabulary/errors.js';
import type { SwitchResult } from '../../router/control.js';
import { otherColor, type Color } from '../../vocabulary/colors.js';
import { PREVIEW_HEADER } from '../../shared/headers.js';
import type { Endpoint, Traffic, TrafficWeights } from '../../release/traffic.js';
import { environmentName, LABEL_APP, type KubernetesSettings } from './manifests.js';
import { applyObject, readObject } from './objects.js';
import { answeredBy, readyPods, routeNotProgrammed, waitUntil, type Route } from './propagation.js';

/** How the Gateway API mode switches and checks a switch. */
export interface GatewayTrafficOptions {
  /** The Gateway the route attaches to (its namespace: the route's, unless given). */
  gateway: { name: string; namespace?: string | undefined; hostnames?: string[] | undefined };
  /** Where clients reach the Gateway (what the gates send to). */
  gatewayUrl: string;
  /** The admin token: the preview token is derived from it. */
  adminToken: string;
  /** How long the Gateway may take to program a route change (its status) and answer from the new color: past it the step fails. */
  propagationTimeoutMs: number;
}

/**
 * The route for an active color: live traffic by weight (`standbyWeight` percent to the standby: a canary), and
 * the standby behind the preview header when a preview token is given (the controller's; a rendered route has
 * none, the controller adds it). Pure.
 */
export function httpRoute(
  settings: Pick<KubernetesSettings, 'namespace' | 'app'>,
  options: Pick<GatewayTrafficOptions, 'gateway'>,
  active: Color,
  previewToken?: string,
  standbyWeight = 0,
) {
  const backend = (color: Color, weight?: number) => ({
    name: environmentName(settings, color),
    port: 80,
    ...(weight === undefined ? {} : { weight }),
  });
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: settings.app,
      namespace: settings.namespace,
      labels: { [LABEL_APP]: settings.app },
      annotations: { 'guardgate.dev/active': active },
    },
    spec: {
      parentRefs: [
        { name: options.gateway.name, ...(options.gateway.namespace ? { namespace: options.gateway.namespace } : {}) },
      ],
      ...(options.gateway.hostnames?.length ? { hostnames: options.gateway.hostnames } : {}),
      rules: [
        ...(previewToken === undefined
          ? []
          : [
              {
                matches: [{ headers: [{ name: PREVIEW_HEADER, value: previewToken }] }],
                backendRefs: [backend(otherColor(active))],
              },
            ]),
        { backendRefs: [backend(active, 100 - standbyWeight), backend(otherColor(active), standbyWeight)] },
      ],
    },
  };
}

/** Traffic moved by the weights of a Gateway API HTTPRoute, checked against its status and answers. */
export class GatewayApiTraffic implements Traffic {
  readonly kind = 'gateway-api';
  readonly mirror = undefined;
  readonly metrics = undefined;
  /** A canary by the route's backend weights: per request, to the percent (no sticky split in Gateway API's core). */
  readonly weights: TrafficWeights = {
    sizesStandby: false,
    cannotSplit: ({ stickyHeader }) =>
      stickyHeader === undefined
        ? undefined
        : `traffic gateway-api cannot keep a user on one version by a header (Gateway API weights are per request, and its session persistence is not in the standard channel): leave canary.stickyHeader out, or use traffic router`,
    setWeights: (weight) => this.setStandbyWeight(weight),
  };
  private current: Color;
  private epoch = 0;
  private readonly previewToken: string;

  private constructor(
    private readonly api: KubernetesObjectApi,
    private readonly settings: Pick<KubernetesSettings, 'namespace' | 'app'>,
    private readonly options: GatewayTrafficOptions,
    private readonly log: Logger,
    active: Color,
  ) {
    this.current = active;
    // Who can read the route can preview; the header is no credential beyond that.
    this.previewToken = createHash('sha256')
      .update(`guardgate-preview:${options.adminToken}`)
      .digest('hex')
      .slice(0, 32);
  }

  static async create(
    api: KubernetesObjectApi,
    settings: Pick<KubernetesSettings, 'namespace' | 'app'>,
    options: GatewayTrafficOptions,
    log: Logger,
    active: Color,
  ): Promise<GatewayApiTraffic> {
    const traffic = new GatewayApiTraffic(api, settings, options, log, active);
    const existing = await traffic.read();
    const recorded = existing?.metadata?.annotations?.['guardgate.dev/active'];
    if (recorded === 'blue' || recorded === 'green') traffic.current = recorded;
    await traffic.write(traffic.current);
    // On a first start nothing is deployed yet: the first switch waits for the route instead.
    if ((await readyPods(api, settings, traffic.current)).length > 0)
      await traffic
        .programmed(traffic.live(), traffic.current, 'the route')
        .catch((error: Error) =>
          log.warn({ err: error }, 'kubernetes: the route does not answer from the active color yet'),
        );
    return traffic;
  }

  private read(): Promise<Route | undefined> {
    return readObject<Route>(
      this.api,
      'gateway.networking.k8s.io/v1',
      'HTTPRoute',
      this.settings.namespace,
      this.settings.app,
    );
  }

  private async write(active: Color, standbyWeight = 0): Promise<void> {
    const route = httpRoute(this.settings, this.options, active, this.previewToken, standbyWeight) as Route;
    await applyObject<Route>(this.api, route);
  }

  get active(): Color {
    return this.current;
  }

  live(): Endpoint {
    return { url: this.options.gatewayUrl, headers: {} };
  }

  preview(): Endpoint {
    return { url: this.options.gatewayUrl, headers: { [PREVIEW_HEADER]: this.previewToken } };
  }

  /** The route names the color Services: an environment that finished rolling out is reachable; wait for the preview to answer from it. */
  async setMembers(color: Color, instances: readonly string[], _version: string | null): Promise<void> {
    if (color === this.current || instances.length === 0) return;
    await this.programmed(this.preview(), color, 'the preview route');
  }

  async switchTo(to: Color): Promise<SwitchResult> {
    const previous = this.current;
    if (to === previous && (await this.read())?.metadata?.annotations?.['guardgate.dev/active'] === to) {
      // Already routed there (a restarted controller confirming what it adopted): nothing moves, nothing to refuse,
      // even while its pods still start; serving already, the route must answer from it before this returns.
      await this.write(to);
      if ((await readyPods(this.api, this.settings, to)).length > 0)
        await this.programmed(this.live(), to, 'the route');
      return { previous, active: to, at: new Date().toISOString(), epoch: this.epoch };
    }
    if ((await readyPods(this.api, this.settings, to)).length === 0) {
      throw new GuardgateError(
        'switch_refused',
        `the ${to} environment has no ready pod; the route is not pointed at it, even when forced`,
      );
    }
    await this.write(to);
    this.current = to;
    this.epoch++;
    const at = new Date().toISOString();
    await this.programmed(this.live(), to, 'the route');
    this.log.info({ from: previous, to, route: this.settings.app }, 'kubernetes: HTTPRoute switched');
    return { previous, active: to, at, epoch: this.epoch };
  }

  /**
   * A share of live traffic to the standby: the route's weights, programmed by the Gateway (its status). At 0 the
   * live endpoint must answer from the active color again, at 100 from the standby.
   */
  private async setStandbyWeight(weight: number): Promise<void> {
    const standby = otherColor(this.current);
    await this.write(this.current, weight);
    if (weight === 0) await this.programmed(this.live(), this.current, 'the route');
    else if (weight === 100) await this.programmed(this.live(), standby, 'the route');
    else await this.accepted();
    this.log.info({ standby, weight, route: this.settings.app }, 'kubernetes: HTTPRoute weights set');
  }

  /** The Gateway reports the route's current generation Accepted with its references resolved, and the endpoint answers from `color`: else the step fails. */
  private async programmed(endpoint: Endpoint, color: Color, what: string): Promise<void> {
    await this.accepted(color);
    await answeredBy(endpoint, color, this.options.propagationTimeoutMs, what);
  }

  /** The Gateway reports the route's current generation Accepted with its references resolved (the other color's Service may be missing: a weight-0 backend). */
  private async accepted(color: Color = this.current): Promise<void> {
    const timeoutMs = this.options.propagationTimeoutMs;
    await waitUntil(
      `the HTTPRoute ${this.settings.app} programmed by the Gateway ${this.options.gateway.name}`,
      timeoutMs,
      async () => {
        const route = await this.read();
        if (route === undefined) return 'the route is gone';
        const standby = await readObject(
          this.api,
          'v1',
          'Service',
          this.settings.namespace,
          environmentName(this.settings, otherColor(color)),
        );
        return routeNotProgrammed(route, this.options.gateway.name, standby === undefined);
      },
    );
  }

  async healthyCount(color: Color): Promise<number> {
    return (await readyPods(this.api, this.settings, color)).length;
  }
}
