// What switching by Service selector costs, and what the drain buys: the fake cluster's service proxy pins
// each kept-alive connection to the pod it chose, as kube-proxy does. Without the drain, clients kept alive
// on the old color stay there after the switch; with it (old pods close each connection after their next
// answer), each kept connection gets at most that one answer more from the old color. No request fails.
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesDriver } from '../../src/drivers/kubernetes/driver.js';
import { kubernetesApi } from '../../src/drivers/kubernetes/api.js';
import { GatewayApiTraffic } from '../../src/drivers/kubernetes/gateway.js';
import { ServiceSelectorTraffic } from '../../src/drivers/kubernetes/traffic.js';
import type { Traffic } from '../../src/release/traffic.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { testDriver } from '../helpers/kubernetes.js';
import { ADMIN_TOKEN, until } from '../helpers/router.js';

const silent = pino({ level: 'silent' });
const CONNECTIONS = 4;
const settings = { namespace: 'default', app: 'pinned', port: 8080 };

async function colorOnce(url: string, headers: Record<string, string>): Promise<string> {
  const response = await request(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{"prompt":"hello"}',
    reset: true,
  });
  return ((await response.body.json()) as { color: string }).color;
}

describe('switching by Service selector or Gateway API route, with kept-alive clients', () => {
  let cluster: FakeCluster;
  let driver: KubernetesDriver;
  beforeAll(async () => {
    cluster = await startFakeCluster({ propagationDelayMs: 200 });
    driver = await testDriver(cluster, settings);
    const spec = (color: 'blue' | 'green') => ({
      color,
      version: `${color}-v1`,
      engine: { kind: 'lexicon' as const },
      policy: 'strict' as const,
      replicas: 2,
    });
    await Promise.all([driver.deploy(spec('blue')), driver.deploy(spec('green'))]);
  });
  afterAll(async () => {
    await driver?.close();
    await cluster?.close();
  });

  /** Service selector traffic; `patienceMs`: how long its API client asks again on transient failures. */
  const selector = (reconnectSeconds: number, patienceMs?: number) =>
    ServiceSelectorTraffic.create(
      kubernetesApi(cluster.kubeconfig, patienceMs),
      settings,
      { adminToken: ADMIN_TOKEN, reconnectSeconds, propagationTimeoutMs: 30_000 },
      silent,
      'blue',
    );
  const gateway = () =>
    GatewayApiTraffic.create(
      kubernetesApi(cluster.kubeconfig),
      settings,
      {
        gateway: { name: 'guardgate-gateway' },
        gatewayUrl: cluster.gatewayUrl,
        adminToken: ADMIN_TOKEN,
        propagationTimeoutMs: 30_000,
      },
      silent,
      'blue',
    );

  /** Keep-alive clients on the live Service through a switch: how many answers came from the old color after it returned, and how many failed. */
  async function switchUnderLoad(made: Promise<Traffic>, from: 'blue' | 'green', to: 'blue' | 'green') {
    const traffic = await made;
    if (traffic.active !== from) await traffic.switchTo(from);
    const agent = new Agent({ connections: CONNECTIONS, keepAliveTimeout: 60_000 });
    const answers: Array<{ afterSwitch: boolean; color: string | null }> = [];
    let switched = false;
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const afterSwitch = switched;
        try {
          const response = await request(`${traffic.live().url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"prompt":"hello"}',
            dispatcher: agent,
          });
          const body = (await response.body.json()) as { color?: string };
          answers.push({ afterSwitch, color: response.statusCode === 200 ? (body.color ?? null) : null });
        } catch {
          answers.push({ afterSwitch, color: null });
        }
      }
    };
    const load = Promise.all(Array.from({ length: CONNECTIONS }, loop));
    await until(() => answers.length >= 200, 15_000);
    await traffic.switchTo(to);
    switched = true;
    const at = answers.length;
    await until(() => answers.length >= at + 400, 20_000);
    stop = true;
    await load;
    await agent.close();
    const late = answers.filter((a) => a.afterSwitch);
    return {
      failed: answers.filter((a) => a.color === null).length,
      late: late.length,
      stale: late.filter((a) => a.color === from).length,
    };
  }

  it('rides out API server errors during a switch (503s, 429s): the Service is switched all the same', async () => {
    const traffic = await selector(0);
    const from = traffic.active;
    const to = from === 'blue' ? 'green' : 'blue';
    cluster.api.faults.add({ method: 'PATCH', path: /\/services\/pinned$/, status: 503, count: 3 });
    cluster.api.faults.add({ method: 'GET', path: /\/pods$/, status: 429, count: 2 });
    await traffic.switchTo(to);
    cluster.api.faults.clear();
    expect(cluster.api.store.get('Service', 'default', 'pinned')!.spec.selector.color).toBe(to);
    expect(cluster.api.requests.filter((r) => r.status === 503 || r.status === 429).length).toBeGreaterThanOrEqual(5);
    await traffic.switchTo(from);
  });

  it('an outage longer than the API client waits: the switch fails saying how long it asked, the Service is left as it was', async () => {
    const impatient = await selector(0, 1_000);
    const from = impatient.active;
    cluster.api.faults.add({ method: 'PATCH', path: /\/services\/pinned$/, status: 503, count: 1_000 });
    try {
      // One line: the status, the API server's reason and message, and how long it was asked (not the client's
      // dump of the body and headers).
      await expect(impatient.switchTo(from === 'blue' ? 'green' : 'blue')).rejects.toThrow(
        /^HTTP 503 InternalError: injected fault \(asked [3-9] times in [01]\.\d s\)$/,
      );
    } finally {
      cluster.api.faults.clear();
    }
    expect(cluster.api.store.get('Service', 'default', 'pinned')!.spec.selector.color).toBe(from);
  });

  it('without the drain, kept-alive clients stay on the old color; with it, each gets at most one more answer there', async () => {
    const pinned = await switchUnderLoad(selector(0), 'blue', 'green');
    const drained = await switchUnderLoad(selector(10), 'green', 'blue');
    // The figures the README quotes.
    console.log(
      `selector switch, ${CONNECTIONS} kept-alive clients: without drain ${pinned.stale}/${pinned.late} answers after the switch from the old color, ${pinned.failed} failed; with drain ${drained.stale}/${drained.late}, ${drained.failed} failed`,
    );
    expect(pinned.failed).toBe(0);
    expect(drained.failed).toBe(0);
    expect(pinned.stale).toBeGreaterThan(pinned.late / 2);
    expect(drained.stale).toBeLessThanOrEqual(CONNECTIONS);
  });

  it('through a Gateway API route, kept-alive clients move at once: the gateway routes each request, no drain needed', async () => {
    const routed = await switchUnderLoad(gateway(), 'blue', 'green');
    console.log(
      `gateway route switch, ${CONNECTIONS} kept-alive clients: ${routed.stale}/${routed.late} answers after the switch from the old color, ${routed.failed} failed`,
    );
    expect(routed.failed).toBe(0);
    expect(routed.stale).toBe(0);
    const traffic = await gateway();
    expect(await colorOnce(traffic.live().url, {})).toBe('green');
    // Without this deployment's preview token the header reaches nothing but the live color.
    expect(await colorOnce(traffic.live().url, { 'x-guardgate-preview': '1' })).toBe('green');
    expect(await colorOnce(traffic.preview().url, traffic.preview().headers)).toBe('blue');
  });
});
