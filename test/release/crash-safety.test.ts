// kill -9 of `guardgate up` in each state of a release, then a restart: it converges. Exactly one active
// color, recorded and serving; no orphan instance; the release continues (watching) or is cleanly aborted.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ControllerStatus, Progress } from '../../src/release/views.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { predict } from '../helpers/up.js';

type Status = ControllerStatus & { progress: Progress | null };

async function startUpProcess(
  dataDir: string,
): Promise<{ cli: CliProcess; url: string; admin: (method: string, path: string, body?: unknown) => Promise<any> }> {
  const cli = runCli(['up', '--port', '0', '--admin-port', '0', '--data-dir', dataDir]);
  const ready = (await cli.logLine('guardgate is up', 60_000)) as { url: string; adminUrl: string };
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${ready.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return response.json();
  };
  return { cli, url: ready.url, admin };
}

const refused = (url: string) =>
  fetch(`${url}/healthz`).then(
    () => false,
    () => true,
  );

/** Processes whose command line mentions `text` (the test's data directory): orphans, if any. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const gates = (overrides: Record<string, unknown>) => ({
  functional: { enabled: true },
  load: { enabled: false },
  shadow: { enabled: false },
  watch: { enabled: false },
  ...overrides,
});

const cases: Array<{ state: string; spec: Record<string, unknown>; after: { release: string; active: string } }> = [
  // Several instances make deploying, and scaling up before the switch, last long enough to be caught.
  { state: 'deploying', spec: { replicas: 4, gates: gates({}) }, after: { release: 'aborted', active: 'blue' } },
  {
    state: 'switching',
    spec: { replicas: 4, previewReplicas: 1, gates: gates({}) },
    after: { release: 'aborted', active: 'blue' },
  },
  {
    state: 'validating',
    spec: { gates: gates({ shadow: { durationSeconds: 120, minSamples: 0 } }) },
    after: { release: 'aborted', active: 'blue' },
  },
  {
    state: 'blocked',
    spec: { abortTeardownDelay: '10m', gates: gates({ functional: { minPassRate: 1, suite: '__IMPOSSIBLE__' } }) },
    after: { release: 'aborted', active: 'blue' },
  },
  {
    state: 'awaiting_approval',
    spec: { autoPromote: false, gates: gates({}) },
    after: { release: 'aborted', active: 'blue' },
  },
  {
    state: 'watching',
    spec: { gates: gates({ watch: { durationSeconds: 4, minRequests: 1000, onInconclusive: 'pass' } }) },
    after: { release: 'stable', active: 'green' },
  },
  { state: 'stable', spec: { gates: gates({}) }, after: { release: 'stable', active: 'green' } },
];

describe('crash safety of guardgate up', () => {
  // Every `up` started here ends with the file at the latest (runCli's helper), also after a failure. The cases
  // share nothing (a data directory each, ports chosen by the system): they run side by side.
  it.concurrent.for(cases)(
    'kill -9 while $state, then restart: converges',
    async ({ state, spec, after }, { expect }) => {
      const dataDir = tempDataDir();
      // A suite no candidate passes, sent inline (as guardgate release sends a suite file).
      const impossible = {
        name: 'impossible',
        cases: [{ name: 'hello is unsafe', prompt: 'Hello', expect: { safety: 'Unsafe' } }],
      };
      const first = await startUpProcess(dataDir);
      const body = JSON.parse(
        JSON.stringify({ version: 'v2', ...spec }).replace('"__IMPOSSIBLE__"', JSON.stringify(impossible)),
      );
      const created = await first.admin('POST', '/admin/releases', body);
      expect(created.state).toBe('deploying');
      let status: Status = await first.admin('GET', '/admin/controller');
      await until(
        async () => {
          status = await first.admin('GET', '/admin/controller');
          return status.release?.state === state;
        },
        60_000,
        `the release ${state}`,
      );
      const instances = (['blue', 'green'] as const).flatMap(
        (c) => status.environments[c]?.instances.map((i) => i.url) ?? [],
      );
      expect(instances.length).toBeGreaterThanOrEqual(1);

      first.cli.child.kill('SIGKILL');
      await first.cli.exited;
      // No orphans: every instance follows its controller down, even those still starting.
      await until(
        async () => (await Promise.all(instances.map(refused))).every(Boolean),
        30_000,
        'every instance of the killed up refusing connections',
      );
      await until(() => processesMentioning(dataDir).length === 0, 30_000, 'no process of the killed up left');

      const second = await startUpProcess(dataDir);
      // "up" is said once the active color serves: a request sent then is answered by it, never refused.
      // On failure: the answer's body, and the log of the restarted up (a health check's ejection, say).
      const firstAnswer = await predict(second.url);
      expect(firstAnswer, `${JSON.stringify(firstAnswer.body)}\n${second.cli.stdout().slice(-3_000)}`).toMatchObject({
        status: 200,
        color: after.active,
      });
      await until(
        async () => {
          status = await second.admin('GET', '/admin/controller');
          return status.release?.state === after.release;
        },
        60_000,
        `the release ${after.release} after the restart`,
      );
      expect(status.active).toBe(after.active);
      expect(status.environments[after.active as 'blue' | 'green']).not.toBeNull();
      const answer = await predict(second.url);
      expect(answer).toMatchObject({ status: 200, color: after.active });
      if (after.release === 'aborted')
        expect(status.release!.note).toMatch(new RegExp(`controller restarted while ${state}`));
      second.cli.child.kill('SIGTERM');
      expect(await second.cli.exited).toBe(0);
    },
  );
});

describe('a graceful restart of guardgate up (Ctrl-C, then up again)', () => {
  it('restores the active color and brings back the kept one: status is truthful, a rollback is one switch to the very instances it shows', async () => {
    const dataDir = tempDataDir();
    const first = await startUpProcess(dataDir);
    await first.admin('POST', '/admin/releases', {
      version: 'v2',
      scaleDownDelay: '10m',
      gates: gates({ functional: { enabled: false } }),
    });
    await until(
      async () => (await first.admin('GET', '/admin/controller')).release?.state === 'stable',
      60_000,
      'the release stable',
    );
    first.cli.child.kill('SIGTERM');
    expect(await first.cli.exited).toBe(0);

    const second = await startUpProcess(dataDir);
    // From its first answer the router names the recorded active color, never the default one.
    expect((await second.admin('GET', '/admin/status')).active).toBe('green');
    let status: Status = await second.admin('GET', '/admin/controller');
    await until(
      async () => {
        status = await second.admin('GET', '/admin/controller');
        return (status.environments.blue?.instances ?? []).some((i) => i.state === 'ready');
      },
      60_000,
      'the kept blue environment ready again',
    );
    expect(status.active).toBe('green');
    expect(status.environments.blue).toMatchObject({ version: 'initial', retireAt: expect.any(String) });
    const kept = status.environments.blue!.instances.map((i) => i.url);
    const rolledBack = await second.admin('POST', '/admin/rollback');
    expect(rolledBack.state).toBe('rolled_back');
    const after: Status = await second.admin('GET', '/admin/controller');
    expect(after.active).toBe('blue');
    expect(after.environments.blue!.instances.map((i) => i.url)).toEqual(kept); // no redeploy
    expect(await predict(second.url)).toMatchObject({ status: 200, color: 'blue', version: 'initial' });
    second.cli.child.kill('SIGTERM');
    expect(await second.cli.exited).toBe(0);
  });
});
