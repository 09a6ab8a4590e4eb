// A controller's start (converge) against a real router: it ends only once the active color serves, so that the
// "up" said after it is true. An adopted instance the router has not yet seen pass a check (a restart on a busy
// machine, a pod not yet ready) is waited for, not announced.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Deployment, Driver, EnvironmentSpec } from '../../src/drivers/driver.js';
import { converge } from '../../src/release/converge.js';
import { Environments } from '../../src/release/environments.js';
import { SqliteControllerStore } from '../../src/release/store.js';
import { routerTraffic } from '../../src/release/traffic.js';
import type { Router } from '../../src/router/router.js';
import type { RunningRouter } from '../../src/router/run.js';
import { startTestRouter } from '../helpers/router.js';
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

describe('converge', () => {
  const opened: Array<{ close(): Promise<void> | void }> = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((part) => part.close()));
  });

  it('ends only once the active color passes the router’s checks: an instance not yet ready is waited for', async () => {
    const instance: TestUpstream = await startUpstream('blue-1');
    opened.push(instance);
    instance.ready = false;
    const running: RunningRouter<Router> = await startTestRouter();
    opened.push(running);
    const store = new SqliteControllerStore(join(mkdtempSync(join(tmpdir(), 'gg-converge-')), 'state.db'));
    opened.push(store);
    const driver = adoptingDriver({
      color: 'blue',
      version: 'initial',
      replicas: 1,
      instances: [{ url: instance.url, state: 'ready', restarts: 0 }],
    });
    const traffic = routerTraffic(running.router);
    const log = pino({ level: 'silent' });
    const ctx = {
      store,
      driver,
      traffic,
      log,
      options: { initial: blue },
      environments: new Environments(driver, traffic, log),
    };

    let converged = false;
    const started = converge(ctx).then(() => (converged = true));
    // The router's first checks fail: the start goes on waiting.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(converged).toBe(false);
    expect(await traffic.healthyCount('blue')).toBe(0);

    instance.ready = true;
    await started;
    expect(await traffic.healthyCount('blue')).toBeGreaterThan(0);
    const answer = await fetch(`${running.url}/predict`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-upstream')).toBe('blue-1');
  });
});
