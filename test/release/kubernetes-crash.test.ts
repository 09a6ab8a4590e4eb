// kill -9 of `guardgate up --driver kubernetes` mid-release, then a restart: the new controller waits for
// the Lease the dead one held, adopts the environments the cluster still runs (their pods are not restarted),
// and converges: an interrupted candidate is torn down, a finished release keeps its old color for rollback.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../src/release/views.js';
import { startFakeCluster, type FakeCluster } from '../fake-cluster/cluster.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { predict } from '../helpers/up.js';

describe('crash safety of guardgate up --driver kubernetes', () => {
  let cluster: FakeCluster;
  let config: string;
  const processes: CliProcess[] = [];
  beforeAll(async () => {
    cluster = await startFakeCluster();
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-k8s-crash-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig, { mode: 0o600 });
    config = join(dir, 'up.yaml');
    writeFileSync(
      config,
      `driver: kubernetes\nkubernetes:\n  kubeconfig: ${join(dir, 'kubeconfig')}\n  image: guardgate:test\n  leaseSeconds: 6\n  renewSeconds: 1\n  terminationGraceSeconds: 5\n`,
    );
  });
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await cluster?.close();
  });

  async function startUp(dataDir: string) {
    const cli = runCli(['up', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, '-c', config]);
    processes.push(cli);
    const ready = (await cli.logLine('guardgate is up', 40_000)) as { url: string; adminUrl: string };
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const admin = async (method: string, path: string, body?: unknown) =>
      (
        await fetch(`${ready.adminUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        })
      ).json();
    return { cli, url: ready.url, admin };
  }
  const podNames = (color: string) =>
    cluster.api.store
      .list('Pod', 'default', `app=guardgate,color=${color}`)
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name)
      .sort();

  it.each([
    {
      state: 'validating',
      spec: {
        gates: {
          functional: { enabled: true },
          load: { enabled: false },
          shadow: { durationSeconds: 120, minSamples: 0, replay: false },
          watch: { enabled: false },
        },
      },
      after: { release: 'aborted', active: 'blue', candidate: false },
    },
    {
      state: 'stable',
      spec: {
        gates: {
          functional: { enabled: true },
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { enabled: false },
        },
      },
      after: { release: 'stable', active: 'green', candidate: true },
    },
  ])(
    'kill -9 while $state, then restart: converges without restarting the pods that serve',
    async ({ state, spec, after }) => {
      const dataDir = tempDataDir();
      const first = await startUp(dataDir);
      expect(
        ((await first.admin('POST', '/admin/releases', { version: `v-${state}`, ...spec })) as { state: string }).state,
      ).toBe('deploying');
      let status = (await first.admin('GET', '/admin/controller')) as ControllerStatus;
      await until(async () => {
        status = (await first.admin('GET', '/admin/controller')) as ControllerStatus;
        return status.release?.state === state;
      }, 40_000);
      const serving = podNames(after.active);
      first.cli.child.kill('SIGKILL');
      await first.cli.exited;

      const second = await startUp(dataDir);
      await until(async () => {
        status = (await second.admin('GET', '/admin/controller')) as ControllerStatus;
        return status.release?.state === after.release;
      }, 40_000);
      expect(status.active).toBe(after.active);
      expect(await predict(second.url)).toMatchObject({ status: 200, color: after.active });
      // The pods that served before the crash serve after it: the controller restart cost them nothing.
      expect(podNames(after.active)).toEqual(serving);
      const other = after.active === 'blue' ? 'green' : 'blue';
      if (after.candidate)
        expect(cluster.api.store.get('Deployment', 'default', `guardgate-${other}`)).toBeDefined(); // kept for rollback
      else
        await until(
          () =>
            cluster.api.store.get('Deployment', 'default', `guardgate-${other}`) === undefined &&
            podNames(other).length === 0,
          20_000,
        );
      second.cli.child.kill('SIGTERM');
      expect(await second.cli.exited).toBe(0);
    },
    120_000,
  );
});
