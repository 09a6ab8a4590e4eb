// Chaos on the fake cluster: releases one after another through the Service selector while the controller pod
// is replaced (kill -9, a new one on an empty data directory, the state in PostgreSQL), pods are evicted (as
// the Eviction API does under a disruption budget: gracefully, never the last ready pod of a color), each
// node's kube-proxy falls behind or catches up on its own, and API calls fail. Clients on the Service, on both
// nodes, see no failed request, and the color the Service selects always has a ready pod.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../src/release/views.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { failedRequests, startLiveLoad } from '../helpers/load.js';
import { until } from '../helpers/router.js';
import { POSTGRES_URL, dropSchema, postgresReachable, requireService, testSchema } from '../helpers/services.js';

/** How many releases: 20 by default, about 3 minutes on two cores (GUARDGATE_CHAOS_RELEASES=100 for a soak). */
const RELEASES = Number(process.env.GUARDGATE_CHAOS_RELEASES ?? 20);

/** The kinds of chaos, each drawn with its probability; the first of each run are every kind once, in a seeded order. */
const KINDS = [
  { kind: 'replace', below: 0.15 },
  { kind: 'evict', below: 0.5 },
  { kind: 'propagation', below: 0.75 },
  { kind: 'api', below: 1 },
] as const;
type Kind = (typeof KINDS)[number]['kind'];
/** Two nodes, each with its own kube-proxy (and clients). */
const NODES = ['node-a', 'node-b'];

/** A small random generator with a printed seed, so that a failing run can be replayed (GUARDGATE_CHAOS_SEED). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('chaos on the fake cluster', () => {
  let cluster: FakeCluster;
  let dir: string;
  const schema = testSchema();
  let reachable = false;
  const controllers: CliProcess[] = [];
  beforeAll(async () => {
    reachable = await postgresReachable();
    cluster = await startFakeCluster({ propagationDelayMs: 100, nodes: NODES.map((name) => ({ name, gpus: 0 })) });
    dir = mkdtempSync(join(tmpdir(), 'guardgate-chaos-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig, { mode: 0o600 });
    writeFileSync(
      join(dir, 'up.yaml'),
      `driver: kubernetes\ntraffic: service-selector\nkubernetes:\n  kubeconfig: ${join(dir, 'kubeconfig')}\n  image: guardgate:test\n  leaseSeconds: 6\n  renewSeconds: 1\n  terminationGraceSeconds: 8\n  readyTimeoutSeconds: 30\n  propagationTimeoutSeconds: 10\n  reconnectSeconds: 2\n`,
    );
    writeFileSync(join(dir, 'initial.yaml'), 'version: v0\nengine:\n  kind: lexicon\npolicy: strict\nreplicas: 2\n');
  });
  afterAll(async () => {
    for (const c of controllers) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await cluster?.close();
    if (reachable) await dropSchema(schema);
  });

  const env = () => ({
    DATABASE_URL: POSTGRES_URL,
    GUARDGATE_CONTROLLER_SCHEMA: schema,
    GUARDGATE_AUDIT_SCHEMA: schema,
  });

  /** A controller pod: `up` on a data directory of its own; its admin API, with its token. */
  async function startController() {
    const dataDir = tempDataDir();
    const cli = runCli(
      [
        'up',
        '--port',
        '0',
        '--admin-port',
        '0',
        '--data-dir',
        dataDir,
        '-c',
        join(dir, 'up.yaml'),
        '--initial',
        join(dir, 'initial.yaml'),
      ],
      env(),
    );
    controllers.push(cli);
    const ready = (await cli.logLine('guardgate is up', 90_000)) as { adminUrl: string };
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${ready.adminUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await response.json()) as T;
    };
    return { cli, admin };
  }

  const readyPods = (color: string) =>
    cluster.api.store
      .list('Pod', 'default', `app=guardgate,color=${color}`)
      .filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status?.phase === 'Running' &&
          p.status?.conditions?.some(
            (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
          ),
      );
  const selected = () =>
    cluster.api.store.get('Service', 'default', 'guardgate')?.spec.selector?.color as string | undefined;

  it(`${RELEASES} releases while the controller is replaced, pods are evicted, each node's kube-proxy lags on its own and API calls fail: no failed request on either node, the live color always has a ready pod`, async (context) => {
    if (!requireService(reachable, `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note))) return;
    const seed = Number(process.env.GUARDGATE_CHAOS_SEED ?? Date.now() % 100_000);
    const draw = random(seed);
    let controller = await startController();
    // The banner sends users to the Service, not to up's own router (which has no pods behind it here).
    await until(() => controller.cli.stderr().includes('Guardgate is up.'), 10_000, 'the banner');
    expect(controller.cli.stderr()).toContain('API (Service)       http://guardgate.default.svc.cluster.local/');
    expect(controller.cli.stderr()).toContain('curl -s http://guardgate.default.svc.cluster.local/predict');
    await until(
      () => selected() !== undefined && readyPods(selected()!).length === 2,
      60_000,
      'the first color serving through the Service',
    );
    // Clients on each node, each through its node's kube-proxy.
    const loads = NODES.map((node) =>
      startLiveLoad(cluster.serviceUrl('guardgate', 'default', node)!, {
        bodies: [JSON.stringify({ prompt: 'hello there' })],
        connections: 2,
      }),
    );

    // The invariant, sampled all along: the color the Service selects has a ready pod.
    const violations: string[] = [];
    const sampler = setInterval(() => {
      const color = selected();
      if (color !== undefined && readyPods(color).length === 0)
        violations.push(`${new Date().toISOString()}: the Service selects ${color}, which has no ready pod`);
    }, 100);

    const chaos: string[] = [];
    let replacing: Promise<void> | undefined;
    // The last release runs with every kind of chaos but the controller's replacement: after all the rest, a
    // release must still go through (a replaced controller aborts the release it had, by design).
    let lastRelease = false;
    // Every kind happens at least once however short the run: the first four are each kind, shuffled by the seed.
    const first: Kind[] = KINDS.map((k) => ({ kind: k.kind, key: draw() }))
      .sort((a, b) => a.key - b.key)
      .map((k) => k.kind);
    const monkey = setInterval(() => {
      if (replacing !== undefined) return;
      const roll = draw();
      const kind = first.shift() ?? KINDS.find((k) => roll < k.below)!.kind;
      if (kind === 'replace') {
        if (lastRelease) return;
        chaos.push('controller replaced');
        replacing = (async () => {
          controller.cli.child.kill('SIGKILL');
          await controller.cli.exited;
          controller = await startController();
        })().finally(() => (replacing = undefined));
      } else if (kind === 'evict') {
        // The Eviction API under a disruption budget: never the last ready pod of a color.
        const color = draw() < 0.5 ? 'blue' : 'green';
        const pods = readyPods(color);
        if (pods.length >= 2) {
          const pod = pods[Math.floor(draw() * pods.length)]!;
          chaos.push(`evicted ${pod.metadata.name}`);
          cluster.api.store.delete('Pod', 'default', pod.metadata.name);
        } else if (chaos.every((c) => !c.startsWith('evicted'))) first.unshift('evict'); // Its turn again at the next tick.
      } else if (kind === 'propagation') {
        const node = NODES[Math.floor(draw() * NODES.length)]!;
        const ms = Math.round(draw() * 1_000);
        chaos.push(`propagation ${ms} ms on ${node}`);
        cluster.setPropagationDelay(ms, node);
      } else {
        // An outage of at most 2 s (shorter than the monkey's tick, so two never add up): unspent faults piled up
        // on paths called once a release (a Service's) would fail a switch for longer than the client's patience.
        chaos.push('API calls failing');
        cluster.api.faults.add({
          path: draw() < 0.5 ? /\/pods$/ : /\/(services|deployments)\//,
          status: 503,
          count: 3,
          endsAt: Date.now() + 2_000,
        });
      }
    }, 2_500);

    const outcomes: string[] = [];
    try {
      for (let i = 1; i <= RELEASES; i++) {
        lastRelease = i === RELEASES;
        await replacing;
        const spec = {
          version: `v${i}`,
          replicas: 2,
          scaleDownDelay: '10m',
          gates: {
            functional: { enabled: true },
            load: { enabled: false },
            shadow: { samples: 20, minSamples: 10, durationSeconds: 2 },
            watch: { durationSeconds: 2, minRequests: 5 },
          },
        };
        // A release refused while another is open (one the replaced controller left) waits for that one.
        let started = false;
        await until(
          async () => {
            await replacing;
            const answer = await controller
              .admin<{ state?: string }>('POST', '/admin/releases', spec)
              .catch((): { state?: string } => ({}));
            started = answer.state !== undefined;
            return started;
          },
          120_000,
          `release v${i} accepted`,
        );
        let state = '';
        let note = '';
        await until(
          async () => {
            await replacing;
            const status = await controller.admin<ControllerStatus>('GET', '/admin/controller').catch(() => null);
            if (status?.release?.version === `v${i}`) {
              state = status.release.state;
              note = status.release.note ?? '';
              // A failed gate says why: its summary and the first failed cases' answers.
              for (const gate of status.release.gates.filter((g) => !g.passed)) {
                const cases = (
                  (gate.evidence as { cases?: { passed: boolean; name: string; got: unknown }[] } | undefined)?.cases ??
                  []
                )
                  .filter((c) => !c.passed)
                  .slice(0, 3);
                note += `; ${gate.gate}: ${gate.summary}${cases.map((c) => `; ${c.name}: ${JSON.stringify(c.got)}`).join('')}`;
              }
            }
            return ['stable', 'aborted', 'rolled_back'].includes(state);
          },
          180_000,
          `release v${i} settled`,
        );
        outcomes.push(`v${i} ${state}${state === 'stable' ? '' : ` (${note})`}`);
      }
    } finally {
      clearInterval(monkey);
      clearInterval(sampler);
      await replacing;
    }
    const results = await Promise.all(loads.map((load) => load.stop()));
    const perNode = results.map((r, i) => `${NODES[i]}: ${r.requests.total} requests, ${failedRequests(r)} failed`);
    const story = `seed ${seed}\nreleases: ${outcomes.join(', ')}\nchaos: ${chaos.join(', ')}`;
    console.log(`chaos: ${story.replaceAll('\n', '; ')}; ${perNode.join('; ')}`);
    expect(violations, story).toEqual([]);
    for (const [i, result] of results.entries()) {
      expect(failedRequests(result), `${NODES[i]}\n${story}`).toBe(0);
      expect(result.requests.total, NODES[i]).toBeGreaterThan(1_000);
    }
    // Chaos happened, and releases still went through: every release a controller replacement did not interrupt
    // is stable (how many were interrupted depends on how fast the machine is, not on the product).
    expect(chaos.length).toBeGreaterThan(RELEASES / 2);
    for (const kind of ['controller replaced', 'evicted', 'propagation', 'API calls failing'])
      expect(
        chaos.some((c) => c.startsWith(kind)),
        `no "${kind}" in ${story}`,
      ).toBe(true);
    expect(
      outcomes.filter((o) => !o.endsWith('stable') && !o.includes('(controller restarted while')),
      story,
    ).toEqual([]);
    expect(outcomes.at(-1), story).toBe(`v${RELEASES} stable`);
    // The recorded active color is the one the Service selects.
    const status = await controller.admin<ControllerStatus>('GET', '/admin/controller');
    expect(status.active).toBe(selected());
    controller.cli.child.kill('SIGTERM');
    expect(await controller.cli.exited).toBe(0);
  }, 1_200_000);
});
