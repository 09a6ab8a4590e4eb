// Whether a traffic change reached the cluster, read from its status rather than assumed: the Service's
// EndpointSlices name ready pods of the new color and none of the old; an HTTPRoute is Accepted with its
// references resolved by its Gateway, for its current generation; and new connections are answered by the
// new color (from where the controller runs). Each wait has a deadline and fails the step past it, saying
// what it waited for and what it saw last.
import { get } from 'node:http';
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { GuardgateError } from '../../vocabulary/errors.js';
import { otherColor, type Color } from '../../vocabulary/colors.js';
import type { Endpoint } from '../../release/traffic.js';
import { colorSelector, labelSelector, type KubernetesSettings } from './manifests.js';
import { podGone, podReady, type Pod } from './rollout.js';

/** Poll `check` (a reason to wait, or undefined when done) until it is done; past `timeoutMs`, fail with what it waited for and the last reason. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<string | undefined>,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let reason: string | undefined;
    try {
      reason = await check();
    } catch (error) {
      reason = (error as Error).message;
    }
    if (reason === undefined) return;
    if (Date.now() > deadline)
      throw new GuardgateError('propagation_timeout', `${what}: not within ${timeoutMs} ms (${reason})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A color's pods that are ready (and not being deleted, not ended). */
export async function readyPods(
  api: KubernetesObjectApi,
  settings: Pick<KubernetesSettings, 'namespace' | 'app'>,
  color: Color,
): Promise<Pod[]> {
  const list = await api.list<Pod>(
    'v1',
    'Pod',
    settings.namespace,
    undefined,
    undefined,
    undefined,
    undefined,
    labelSelector(colorSelector(settings, color)),
  );
  return list.items.filter((p) => !podGone(p) && podReady(p));
}

/** The color that answers `/version` on a new connection (nothing kept alive: where it lands is the traffic's choice). */
function colorBehind(endpoint: Endpoint): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = get(
      new URL('/version', endpoint.url),
      { agent: false, timeout: 2_000, headers: endpoint.headers },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          try {
            resolve((JSON.parse(body) as { color?: string }).color);
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.on('error', reject);
  });
}

/** Until new connections to `endpoint` are answered by `color` three times in a row (the change reached the proxies). */
export async function answeredBy(endpoint: Endpoint, color: Color, timeoutMs: number, what: string): Promise<void> {
  let streak = 0;
  await waitUntil(`${what} answering from ${color}`, timeoutMs, async () => {
    const seen = await colorBehind(endpoint).catch((error: Error) => `no answer: ${error.message}`);
    streak = seen === color ? streak + 1 : 0;
    return streak >= 3 ? undefined : `last answered by ${seen ?? 'an instance that names no color'}`;
  });
}

type EndpointSlice = KubernetesObject & {
  endpoints?: Array<{ conditions?: { ready?: boolean }; targetRef?: { kind?: string; name?: string } }>;
};

/** The pods a Service's EndpointSlices name as ready endpoints. */
async function readyEndpoints(api: KubernetesObjectApi, namespace: string, service: string): Promise<Set<string>> {
  const slices = await api.list<EndpointSlice>(
    'discovery.k8s.io/v1',
    'EndpointSlice',
    namespace,
    undefined,
    undefined,
    undefined,
    undefined,
    `kubernetes.io/service-name=${service}`,
  );
  return new Set(
    slices.items.flatMap((s) =>
      (s.endpoints ?? [])
        .filter((e) => e.conditions?.ready !== false && e.targetRef?.kind === 'Pod')
        .map((e) => e.targetRef!.name!),
    ),
  );
}

/** Why the Service's endpoints have not moved to `to` yet (some ready pod of `to`, no ready pod of the other color), or undefined. Pure. */
export function endpointsMovedTo(
  ready: ReadonlySet<string>,
  toPods: readonly string[],
  fromPods: readonly string[],
  to: Color,
): string | undefined {
  const of = toPods.filter((name) => ready.has(name)).length;
  const stale = fromPods.filter((name) => ready.has(name)).length;
  if (of === 0) return `its EndpointSlices name no ready pod of ${to}`;
  if (stale > 0) return `its EndpointSlices still name ${stale} ready pod(s) of ${otherColor(to)}`;
  return undefined;
}

/** Until the Service's EndpointSlices name ready pods of `to` and none of the other color. */
export async function endpointsMoved(
  api: KubernetesObjectApi,
  settings: Pick<KubernetesSettings, 'namespace' | 'app'>,
  service: string,
  to: Color,
  timeoutMs: number,
): Promise<void> {
  const names = async (color: Color) => (await readyPods(api, settings, color)).map((p) => p.metadata!.name!);
  await waitUntil(`the ${service} Service's endpoints moving to ${to}`, timeoutMs, async () =>
    endpointsMovedTo(
      await readyEndpoints(api, settings.namespace, service),
      await names(to),
      await names(otherColor(to)),
      to,
    ),
  );
}

/** Why the Service's endpoints do not name ready pods of both colors yet (a canary by replica ratio), or undefined. Pure. */
export function endpointsSpreadOver(
  ready: ReadonlySet<string>,
  pods: Readonly<Record<Color, readonly string[]>>,
): string | undefined {
  const missing = (Object.keys(pods) as Color[]).filter((color) => !pods[color].some((name) => ready.has(name)));
  return missing.length === 0 ? undefined : `its EndpointSlices name no ready pod of ${missing.join(' or ')}`;
}

/** Until the Service's EndpointSlices name ready pods of both colors. */
export async function endpointsSpread(
  api: KubernetesObjectApi,
  settings: Pick<KubernetesSettings, 'namespace' | 'app'>,
  service: string,
  timeoutMs: number,
): Promise<void> {
  const names = async (color: Color) => (await readyPods(api, settings, color)).map((p) => p.metadata!.name!);
  await waitUntil(`the ${service} Service's endpoints spreading over both colors`, timeoutMs, async () =>
    endpointsSpreadOver(await readyEndpoints(api, settings.namespace, service), {
      blue: await names('blue'),
      green: await names('green'),
    }),
  );
}

type Condition = { type: string; status: string; reason?: string; message?: string; observedGeneration?: number };
/** The parts of an HTTPRoute the propagation checks read. */
export type Route = KubernetesObject & {
  spec: Record<string, unknown>;
  status?: { parents?: Array<{ parentRef: { name: string; namespace?: string }; conditions?: Condition[] }> };
};

/**
 * Why the Gateway has not taken the route's current generation (Accepted and ResolvedRefs, as its status says),
 * or undefined. `standbyMissing`: a backend of weight 0 is not deployed (no standby yet, or retired), so
 * ResolvedRefs is rightly False; the answers then tell whether the rest was programmed. Pure.
 */
export function routeNotProgrammed(route: Route, gateway: string, standbyMissing = false): string | undefined {
  const parent = route.status?.parents?.find((p) => p.parentRef.name === gateway);
  if (parent === undefined) return `the Gateway ${gateway} has not reported on the route yet`;
  const generation = route.metadata?.generation ?? 0;
  for (const type of ['Accepted', 'ResolvedRefs']) {
    const condition = parent.conditions?.find((c) => c.type === type);
    if (condition === undefined || (condition.observedGeneration ?? 0) < generation)
      return `${type} not reported for generation ${generation} yet`;
    if (condition.status !== 'True' && !(type === 'ResolvedRefs' && standbyMissing))
      return `${type} is ${condition.status}: ${condition.reason ?? ''} ${condition.message ?? ''}`.trim();
  }
  return undefined;
}
