// How traffic reaches an environment: one interface the controller drives, whatever moves the traffic: the
// router (in this process, or a cluster of workers), a Kubernetes Service whose selector is switched
// (drivers/kubernetes/traffic.ts), or a Gateway API HTTPRoute (drivers/kubernetes/gateway.ts). The controller
// knows nothing else of it.
import type { MirrorPair } from '../router/mirror.js';
import type { RouterControl, SwitchResult } from '../router/control.js';
import type { Color } from '../vocabulary/colors.js';
import { PREVIEW_HEADER } from '../shared/headers.js';

/** Where to send a request, and the headers that say so. */
export interface Endpoint {
  url: string;
  headers: Record<string, string>;
}

/** What moves traffic between the colors: the router, a Service selector or a Gateway API route. */
export interface Traffic {
  readonly kind: 'router' | 'service-selector' | 'gateway-api';
  readonly active: Color;
  /** The stable address clients use: live traffic. */
  live(): Endpoint;
  /** The standby, for the gates: the router with the preview header, or the preview Service. */
  preview(): Endpoint;
  /** The instances of a color and its version label (empty: the color is gone). */
  setMembers(color: Color, instances: readonly string[], version: string | null): Promise<void>;
  /** Make `to` the active color; refused while it has no ready instance (unless forced, where the mode allows). */
  switchTo(to: Color, options?: { force?: boolean }): Promise<SwitchResult>;
  healthyCount(color: Color): Promise<number>;
  /** Live traffic mirrored to the standby, where the mode can (the router); the shadow gate replays otherwise. */
  readonly mirror:
    | { setMirror(fraction: number): Promise<void>; onMirrorPair(listener: (pair: MirrorPair) => void): () => void }
    | undefined;
  /** Live request counts for the watch gate, where the mode sees them (the router). */
  readonly metrics: Pick<RouterControl, 'traffic' | 'latencyBuckets'> | undefined;
  /** A share of live traffic for the standby (a canary), where the mode can split it. */
  readonly weights: TrafficWeights | undefined;
  /**
   * Resolves once no request is in flight to `color` any more (it stopped serving: a request routed to it just
   * before a switch is still answered there), or after `timeoutMs`; where the mode sees in-flight requests.
   */
  drained?(color: Color, timeoutMs: number): Promise<void>;
}

/** What a canary asks of the traffic: its steps, sticky or not, and the candidate's full size. */
export interface CanarySplit {
  weights: readonly number[];
  stickyHeader?: string | undefined;
  /** The stable color's replicas, and the candidate's at full size (the release's `replicas`). */
  replicas: { stable: number; candidate: number };
}

/** How a mode splits live traffic between the colors by weight. */
export interface TrafficWeights {
  /**
   * Send `standbyWeight` percent of live traffic to the standby (0: none), sticky by `stickyHeader` where the mode
   * can; `candidateReplicas` is the standby's full size (a mode that splits by replicas sizes it to the weight).
   * Resolves once the cluster has taken the split.
   */
  setWeights(
    standbyWeight: number,
    options?: { stickyHeader?: string | null; candidateReplicas?: number },
  ): Promise<void>;
  /** Why this mode cannot make the split (checked before the release starts), or undefined. */
  cannotSplit(split: CanarySplit): string | undefined;
  /** The mode sizes the standby to each weight (replica ratios): it is not scaled to full before the steps. */
  readonly sizesStandby: boolean;
}

/** The router as traffic: membership is its pools, previews carry the preview header. */
export function routerTraffic(router: RouterControl): Traffic {
  return {
    kind: 'router',
    get active() {
      return router.active;
    },
    live: () => ({ url: router.url, headers: {} }),
    preview: () => ({ url: router.url, headers: { [PREVIEW_HEADER]: '1' } }),
    setMembers: (color, instances, version) => router.setPool(color, instances, version),
    switchTo: (to, options) => router.switchTo(to, options),
    healthyCount: (color) => router.healthyCount(color),
    mirror: router,
    metrics: router,
    weights: {
      setWeights: (weight, options) => router.setWeights(weight, options?.stickyHeader ?? null),
      cannotSplit: () => undefined,
      sizesStandby: false,
    },
    drained: async (color, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      // A request routed just before the switch may still be reading its body: one look is not enough.
      await new Promise((r) => setTimeout(r, 250));
      while (Date.now() < deadline) {
        const pool = (await router.status()).pools[color];
        if (pool.instances.every((i) => i.inFlight === 0)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
