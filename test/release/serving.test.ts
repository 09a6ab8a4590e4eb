// What `up` waits for before it says it is up, against a real router: the active color passing the router's
// checks. An adopted instance not yet ready (a restart on a busy machine, a pod still starting) is waited for, not
// announced; one that never is ends the wait at its deadline, said in the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Deployment, Driver, EnvironmentSpec } from '../../src/drivers/driver.js';
import { converge } from '../../src/release/converge.js';
import { Environments } from '../../src/release/environments.js';
import { untilServing } from '../../src/release/serving.js';
import { SqliteControllerStore } from '../../src/release/store.js';
import { routerTraffic } from '../../src/release/traffic.js';
import { startTestRouter, until } from '../helpers/router.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const blue: EnvironmentSpec = {
  color: 'blue',
  version: 'initial',
  engine: { kind: 'lexicon' },
  policy: 'strict',
  replicas: 1,
};

/** A driver that finds `deployment` running (what a restart adopts); it deploys nothing. */
function adoptingDriver(deployment: Deployment): Driver {
  return {
    kind: 'local',
    cannotDeploy: () => undefined,
    adopt: async (spec) => (spec.color === deployment.color ? deployment : null),
    deploy: () => Promise.reject(new Error('nothing is deployed here')),
    scale: () => Promise.reject(new Error('nothing is scaled here')),
    teardown: async () => undefined,
    describe: (color) => (color === deployment.color ? deployment : null),
    close: async () => undefined,
  };
}

describe('until the active color serves', () => {
  const opened: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close();
  });

  /** A controller started (converged) on a real router, its blue instance adopted and not ready yet. */
  async function restartedOnUnreadyInstance() {
    const instance: TestUpstream = await startUpstream('blue-1');
    opened.push(() => instance.close());
    instance.ready = false;
    const running = await startTestRouter();
    opened.push(() => running.close());
    const dir = mkdtempSync(join(tmpdir(), 'gg-serving-'));
    const store = new SqliteControllerStore(join(dir, 'state.db'));
    opened.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const driver = adoptingDriver({
      color: 'blue',
      version: 'initial',
      replicas: 1,
      instances: [{ url: instance.url, state: 'ready', restarts: 0 }],
    });
    const traffic = routerTraffic(running.router);
    const lines: Array<{ msg: string; color?: string }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    await converge({
      store,
      driver,
      traffic,
      log,
      options: { initial: blue },
      environments: new Environments(driver, traffic, log),
    });
    return { instance, running, traffic, log, lines };
  }

  it('waits while the router has not seen the instance pass a check, and ends once a request is answered', async () => {
    const { instance, running, traffic, log } = await restartedOnUnreadyInstance();
    let served: boolean | undefined;
    const waiting = untilServing(traffic, log, { timeoutMs: 60_000, pollMs: 50 }).then((ok) => (served = ok));
    // The router's checks keep failing (three more of them): the start goes on waiting.
    const checked = instance.healthChecks;
    await until(() => instance.healthChecks >= checked + 3, 30_000, 'three more failed health checks of the instance');
    expect(served).toBeUndefined();
    expect(await traffic.healthyCount('blue')).toBe(0);

    instance.ready = true;
    await waiting;
    expect(served).toBe(true);
    const answer = await fetch(`${running.url}/predict`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-upstream')).toBe('blue-1');
  });

  it('gives up at its deadline when the instance never passes, and says so', async () => {
    const { traffic, log, lines } = await restartedOnUnreadyInstance();
    expect(await untilServing(traffic, log, { timeoutMs: 500, pollMs: 50 })).toBe(false);
    expect(lines).toContainEqual(
      expect.objectContaining({
        color: 'blue',
        msg: 'the active color has no instance that passes the health checks: requests are refused until one does',
      }),
    );
  });

  it('goes on, saying so, when the switch asked again once the color serves fails (an API call failing)', async () => {
    const { instance, traffic, log, lines } = await restartedOnUnreadyInstance();
    const failing = { ...traffic, switchTo: () => Promise.reject(new Error('injected: the API server answered 503')) };
    const waiting = untilServing(failing, log, { timeoutMs: 60_000, pollMs: 50 });
    // Ready only once the wait has seen it refused (a failed check after the wait began): it then switches again.
    const checked = instance.healthChecks;
    await until(() => instance.healthChecks > checked, 30_000, 'a failed health check of the instance');
    instance.ready = true;
    expect(await waiting).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({
        color: 'blue',
        msg: 'the active color serves, but the switch to it could not be confirmed again: clients may wait for it to propagate',
      }),
    );
  });
});
