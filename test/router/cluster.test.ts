// The router as a cluster of workers on one port (`--workers 2`): a switch is reported done only when every
// worker serves the new state (answers carry its epoch), metrics add up across workers, mirror pairs from
// every worker reach the primary, a worker that dies is replaced with the current state, and the command
// starts and stops as users run it.
import cluster from 'node:cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { loadRouterConfig } from '../../src/config/router.js';
import type { MirrorPair } from '../../src/router/mirror.js';
import { startRouterProcesses, type RunningRouter } from '../../src/router/run.js';
import { runCli } from '../helpers/cli.js';
import { ROUTER_SECRET } from '../helpers/instance.js';
import { ADMIN_TOKEN, until } from '../helpers/router.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

interface Answer {
  status: number;
  color: string | undefined;
  epoch: number;
}

describe('router cluster (--workers 2)', () => {
  let blue: TestUpstream;
  let green: TestUpstream;
  let router: RunningRouter;

  const send = async (dispatcher?: Agent, body = '{"prompt":"hello"}'): Promise<Answer> => {
    const response = await request(`${router.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(dispatcher ? {} : { connection: 'close' }) },
      body,
      ...(dispatcher ? { dispatcher } : {}),
    });
    await response.body.text();
    return {
      status: response.statusCode,
      color: response.headers['x-guardgate-color'] as string | undefined,
      epoch: Number(response.headers['x-guardgate-epoch']),
    };
  };

  beforeAll(async () => {
    [blue, green] = await Promise.all([startUpstream('blue-1'), startUpstream('green-1')]);
    const config = loadRouterConfig(
      { port: '0', adminPort: '0', logLevel: 'silent', blue: blue.url, green: green.url, workers: '2' },
      { GUARDGATE_ROUTER_SECRET: ROUTER_SECRET },
    );
    config.health = { ...config.health, intervalMs: 100, timeoutMs: 1_000, unhealthyThreshold: 1, healthyThreshold: 1 };
    router = await startRouterProcesses(
      config,
      config.auth,
      { ...config.admin, token: ADMIN_TOKEN },
      pino({ level: 'silent' }),
      { workers: config.workers, logLevel: 'silent' },
    );
  });
  afterAll(async () => {
    await router?.close();
    await Promise.all([blue, green].map((u) => u?.close()));
  });

  it('serves from both workers on one port; their request counts add up in one exposition', async () => {
    const status = await router.router.status();
    expect(status.workers).toBe(2);
    const before = (await router.router.traffic()).blue.total;
    // A new connection each time: the primary hands connections to the workers in turn.
    const answers = await Promise.all(Array.from({ length: 60 }, () => send()));
    expect(answers.every((a) => a.status === 200 && a.color === 'blue')).toBe(true);
    expect((await router.router.traffic()).blue.total - before).toBe(60);
    const { body } = await router.router.metricsText();
    expect(body).toMatch(/guardgate_router_requests_total\{color="blue",reason="active",status_code="200"\} \d+/);
  });

  it('a switch is done only when every worker serves the new color: no later request reaches the old one, none fails', async () => {
    const agent = new Agent({ connections: 8, keepAliveTimeout: 30_000 });
    const answers: Array<Answer & { afterSwitch: boolean }> = [];
    let switched = false;
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const afterSwitch = switched;
        answers.push({ ...(await send(agent)), afterSwitch });
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, loop));
    await until(() => answers.length >= 200, 15_000);
    const result = await router.router.switchTo('green');
    switched = true;
    const atSwitch = answers.length;
    await until(() => answers.length >= atSwitch + 300, 15_000);
    stop = true;
    await load;
    await agent.close();
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const late = answers.filter((a) => a.afterSwitch);
    expect(late.length).toBeGreaterThanOrEqual(300);
    expect(late.filter((a) => a.color !== 'green' || a.epoch < result.epoch)).toEqual([]);
    expect(answers.filter((a) => a.epoch >= result.epoch && a.color !== 'green')).toEqual([]);
    expect((await router.router.status()).epoch).toBe(result.epoch);
    await router.router.switchTo('blue');
  });

  it('a pool change is done when every worker has checked the new instance: the next requests carry its epoch and reach it', async () => {
    const blue2 = await startUpstream('blue-2');
    blue2.healthDelayMs = 300; // each worker checks it before it takes traffic there
    try {
      await router.router.setPool('blue', [blue.url, blue2.url], 'v2');
      const epoch = (await router.router.status()).epoch;
      const answers = await Promise.all(Array.from({ length: 40 }, () => send()));
      expect(answers.filter((a) => a.status !== 200 || a.epoch < epoch)).toEqual([]);
      expect(blue2.received.length).toBeGreaterThan(0);
    } finally {
      await router.router.setPool('blue', [blue.url], null);
      await blue2.close();
    }
  });

  it("mirror pairs from every worker reach the primary's listeners, bodies intact", async () => {
    const pairs: MirrorPair[] = [];
    const unsubscribe = router.router.onMirrorPair((pair) => pairs.push(pair));
    await router.router.setMirror(1);
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => send(undefined, JSON.stringify({ prompt: `mirrored ${i}` }))),
      );
      await until(() => pairs.length === 20, 10_000);
    } finally {
      await router.router.setMirror(0);
      unsubscribe();
    }
    const prompts = pairs.map((p) => (JSON.parse(p.request.body.toString('utf8')) as { prompt: string }).prompt).sort();
    expect(prompts).toEqual(Array.from({ length: 20 }, (_, i) => `mirrored ${i}`).sort());
    expect(
      pairs.every((p) => Buffer.isBuffer(p.active.body) && p.active.status === 200 && p.standby.color === 'green'),
    ).toBe(true);
  });

  it('a worker that dies is replaced, with the current state', async () => {
    await router.router.setWeights(0);
    const epoch = (await router.router.status()).epoch;
    const [victim] = Object.values(cluster.workers ?? {});
    victim!.process.kill('SIGKILL');
    await until(async () => {
      const status = await router.router.status();
      return status.workers === 2 && !victim!.isConnected();
    }, 15_000);
    expect((await router.router.status()).epoch).toBe(epoch);
    const answers = await Promise.all(Array.from({ length: 20 }, () => send()));
    expect(answers.map((a) => `${a.status} ${a.color} ${a.epoch}`)).toEqual(
      Array.from({ length: 20 }, () => `200 blue ${epoch}`),
    );
  });

  it('an instance is healthy only when every worker sees it so: a switch to a color one worker cannot serve is refused', async () => {
    // Ready to the first worker's checks only (the first connection opened to it), not to the other's: that worker
    // could serve it none of the requests it gets, so the color has no instance the whole router can use.
    const split = await startUpstream('green-split');
    const checkers = new Set<number>();
    split.readyFor = (connection) => {
      checkers.add(connection);
      return connection === 1;
    };
    try {
      await router.router.setPool('green', [split.url], 'v-split');
      await until(async () => checkers.size >= 2, 10_000, 'both workers checked the instance');
      const status = await router.router.status();
      expect(status.pools.green.instances).toMatchObject([{ url: split.url, health: 'unhealthy' }]);
      expect(status.pools.green.healthy).toBe(0);
      expect(await router.router.healthyCount('green')).toBe(0);
      await expect(router.router.switchTo('green')).rejects.toMatchObject({ code: 'switch_refused' });
      expect(router.router.active).toBe('blue');
    } finally {
      await router.router.setPool('green', [green.url], null);
      await split.close();
    }
  });

  it('`guardgate router --workers 2` starts, serves, and stops cleanly on SIGTERM', async () => {
    const cli = runCli(
      ['router', '--workers', '2', '--port', '0', '--admin-port', '0', '--blue', blue.url, '--log-level', 'info'],
      { GUARDGATE_ADMIN_TOKEN: ADMIN_TOKEN },
    );
    try {
      const { url, adminUrl } = (await cli.logLine('guardgate router ready', 20_000)) as {
        url: string;
        adminUrl: string;
      };
      const response = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"prompt":"hello"}',
      });
      expect(response.status).toBe(200);
      const status = (await (
        await fetch(`${adminUrl}/admin/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json()) as { workers: number };
      expect(status.workers).toBe(2);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
});
