// A controller pod replaced on a real cluster: it starts on a fresh data directory (an emptyDir), with the
// state in PostgreSQL, while the live color runs through ordinary trouble (a pod crash-looping, a pod
// evicted and kept as Failed). The new controller adopts what runs: it never redeploys, restarts or deletes
// the live color, and the next release passes its gates with the credentials the pods already hold.
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
import { predict } from '../helpers/up.js';

describe('a replaced controller pod on Kubernetes adopts the live color', () => {
  let cluster: FakeCluster;
  let dir: string;
  const schema = testSchema();
  const processes: CliProcess[] = [];
  let reachable = false;
  beforeAll(async () => {
    reachable = await postgresReachable();
    cluster = await startFakeCluster();
    dir = mkdtempSync(join(tmpdir(), 'guardgate-k8s-restart-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig, { mode: 0o600 });
    writeFileSync(
      join(dir, 'up.yaml'),
      `driver: kubernetes\nkubernetes:\n  kubeconfig: ${join(dir, 'kubeconfig')}\n  image: guardgate:test\n  leaseSeconds: 6\n  renewSeconds: 1\n  terminationGraceSeconds: 5\n  readyTimeoutSeconds: 20\n`,
    );
    writeFileSync(
      join(dir, 'initial.yaml'),
      'version: initial\nengine:\n  kind: lexicon\npolicy: strict\nreplicas: 3\n',
    );
    writeFileSync(
      join(dir, 'v2.yaml'),
      'version: v2\nengine:\n  kind: lexicon\npolicy: strict\nreplicas: 1\nscaleDownDelay: 10m\ngates:\n  load:\n    durationSeconds: 1\n    connections: 4\n    tolerance: { p99: 3, qps: 0.8, errorRate: 0 }\n  shadow:\n    durationSeconds: 4\n    samples: 20\n    minSamples: 10\n    replay: false\n  watch:\n    durationSeconds: 2\n    minRequests: 5\n',
    );
  });
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await cluster?.close();
    if (reachable) await dropSchema(schema);
  });

  const env = () => ({
    DATABASE_URL: POSTGRES_URL,
    GUARDGATE_CONTROLLER_SCHEMA: schema,
    GUARDGATE_AUDIT_SCHEMA: schema,
  });
  async function startController(dataDir: string) {
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
    processes.push(cli);
    const ready = (await cli.logLine('guardgate is up', 60_000)) as { url: string; adminUrl: string };
    return { cli, url: ready.url, adminUrl: ready.adminUrl };
  }
  const livePods = (color: string) =>
    cluster.api.store
      .list('Pod', 'default', `app=guardgate,color=${color}`)
      .filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed')
      .map((p) => p.metadata.name)
      .sort();
  const restarts = (pod: string) =>
    (cluster.api.store.get('Pod', 'default', pod)?.status?.containerStatuses ?? []).reduce(
      (n: number, c: { restartCount: number }) => n + c.restartCount,
      0,
    );

  it('a crash-looping and an evicted pod of the live color, a new controller on a fresh data directory: blue is kept, and the next release passes', async (context) => {
    if (!requireService(reachable, `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note))) return;
    const first = await startController(tempDataDir());
    await until(() => livePods('blue').length === 3, 30_000, 'three blue pods');
    const [looping, evicted, healthy] = livePods('blue') as [string, string, string];
    cluster.crashLoop(looping);
    await until(() => restarts(looping) >= 3, 30_000, `pod ${looping} restarted three times`);
    cluster.evict(evicted);
    // The evicted pod is kept by the cluster as Failed; its ReplicaSet makes a replacement.
    await until(
      () => livePods('blue').length === 3 && !livePods('blue').includes(evicted),
      30_000,
      'a replacement for the evicted pod',
    );
    expect(cluster.api.store.get('Pod', 'default', evicted)?.status?.reason).toBe('Evicted');
    const before = livePods('blue');
    const generation = cluster.api.store.get('Deployment', 'default', 'guardgate-blue')!.metadata.generation;

    // The controller pod is replaced: killed, and a new one starts on an empty data directory.
    first.cli.child.kill('SIGKILL');
    await first.cli.exited;
    const dataDir = tempDataDir();
    const second = await startController(dataDir);

    // What runs was adopted: the same Deployment (not rewritten), the same pods, none restarted by the controller.
    expect(cluster.api.store.get('Deployment', 'default', 'guardgate-blue')?.metadata.generation).toBe(generation);
    expect(livePods('blue')).toEqual(before);
    expect(restarts(healthy)).toBe(0);
    expect(await predict(second.url)).toMatchObject({ status: 200, color: 'blue', version: 'initial' });

    // The next release, under load: its gates reach both colors with the credentials the live pods hold.
    const load = startLiveLoad(second.url);
    const release = runCli(['release', join(dir, 'v2.yaml'), '--wait', '--data-dir', dataDir], env());
    processes.push(release);
    const code = await release.exited;
    const result = await load.stop();
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const status = (await (
      await fetch(`${second.adminUrl}/admin/controller`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as ControllerStatus;
    const failedCases =
      status.release?.gates.flatMap((g) =>
        ((g.evidence as { cases?: Array<{ passed: boolean }> } | undefined)?.cases ?? []).filter((c) => !c.passed),
      ) ?? [];
    expect(status.release?.state, `${release.stdout()}\n${JSON.stringify(failedCases.slice(0, 2))}`).toBe('stable');
    expect(code).toBe(0);
    expect(failedRequests(result)).toBe(0);
    // Blue is kept for an instant rollback, never deleted.
    expect(cluster.api.store.get('Deployment', 'default', 'guardgate-blue')).toBeDefined();
    second.cli.child.kill('SIGTERM');
    expect(await second.cli.exited).toBe(0);
  }, 240_000);
});
