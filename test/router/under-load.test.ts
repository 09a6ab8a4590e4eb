// Zero failed requests under load: across many switches, and when one instance of the active color is
// killed with SIGKILL. Real `guardgate serve` and `guardgate router` processes, load from autocannon.
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { failedRequests, startLiveLoad } from '../helpers/load.js';
import { ADMIN_TOKEN, until } from '../helpers/router.js';

const body = JSON.stringify({ prompt: 'How can I kill a Python process that hangs?' });

async function startInstance(color: string, version: string): Promise<{ cli: CliProcess; url: string }> {
  const cli = runCli(['serve', '--port', '0', '--color', color, '--service-version', version, '--log-level', 'info']);
  const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
  await cli.logLine('engine warmed up; ready');
  return { cli, url };
}

async function startRouterProcess(
  blue: string[],
  green: string[],
): Promise<{ cli: CliProcess; url: string; adminUrl: string }> {
  const cli = runCli(
    [
      'router',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--blue',
      blue.join(','),
      '--green',
      green.join(','),
      '--blue-version',
      'v1',
      '--green-version',
      'v2',
    ],
    {
      GUARDGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    },
  );
  const ready = (await cli.logLine('guardgate router ready')) as { url: string; adminUrl: string };
  return { cli, url: ready.url, adminUrl: ready.adminUrl };
}

/** Load until the test stops it (after its switches or its kill, however long a busy machine takes). */
const load = (url: string) => startLiveLoad(url, { bodies: [body], connections: 16, overallRate: 'flood' });

const switchTo = (adminUrl: string, color: string) =>
  fetch(`${adminUrl}/admin/switch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ color }),
  });

// The processes end with the file (runCli's helper), also when one of them failed to start.
describe('router under load', () => {
  describe('switching blue/green again and again', () => {
    let router: Awaited<ReturnType<typeof startRouterProcess>>;
    beforeAll(async () => {
      const [blue, green] = await Promise.all([startInstance('blue', 'v1'), startInstance('green', 'v2')]);
      router = await startRouterProcess([blue.url], [green.url]);
    });

    it('fails no request across 30 switches', async () => {
      const running = load(router.url);
      let switches = 0;
      await until(() => running.answered() > 0, 10_000, 'the load answered');
      while (switches < 30) {
        const response = await switchTo(router.adminUrl, switches % 2 === 0 ? 'green' : 'blue');
        expect(response.status).toBe(200);
        switches++;
        // The next switch once the load was answered since this one: switches between live requests, not a sleep.
        const answered = running.answered();
        await until(() => running.answered() > answered + 20, 10_000, 'the load answered after a switch');
      }
      const result = await running.stop();
      expect(result.requests.total).toBeGreaterThan(0);
      expect(failedRequests(result)).toBe(0);
      const metrics = await (await fetch(`${router.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /guardgate_router_requests_total\{color="green",reason="active",status_code="200"\} [1-9]/,
      );
      expect(metrics).toMatch(
        /guardgate_router_requests_total\{color="blue",reason="active",status_code="200"\} [1-9]/,
      );
    });
  });

  describe('one instance killed', () => {
    let router: Awaited<ReturnType<typeof startRouterProcess>>;
    let victim: CliProcess;
    beforeAll(async () => {
      const [blue1, blue2, green] = await Promise.all([
        startInstance('blue', 'v1'),
        startInstance('blue', 'v1'),
        startInstance('green', 'v2'),
      ]);
      victim = blue1.cli;
      router = await startRouterProcess([blue1.url, blue2.url], [green.url]);
    });

    it('fails no request when one instance of the active color gets SIGKILL under load', async () => {
      const running = load(router.url);
      await until(() => running.answered() >= 500, 30_000, '500 requests answered before the kill');
      victim.child.kill('SIGKILL');
      expect(await victim.exited).toBeNull(); // killed by the signal
      const atKill = running.answered();
      await until(() => running.answered() >= atKill + 500, 30_000, '500 requests answered after the kill');
      const result = await running.stop();
      expect(failedRequests(result)).toBe(0);
      const status = await (
        await fetch(`${router.adminUrl}/admin/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json();
      expect((status as { pools: { blue: { healthy: number } } }).pools.blue.healthy).toBe(1);
    });
  });
});
