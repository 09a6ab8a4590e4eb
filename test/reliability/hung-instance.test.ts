// A hung instance (SIGSTOP: connections accepted by the kernel, nothing answered) costs a request one
// attempt's deadline, not the client's patience: the router tries another instance of the color.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../../src/router/run.js';
import type { Router } from '../../src/router/router.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { startTestRouter } from '../helpers/router.js';

describe('a hung instance behind the router', () => {
  const instances: CliProcess[] = [];
  let router: RunningRouter<Router>;
  beforeAll(async () => {
    const urls: string[] = [];
    for (let i = 0; i < 2; i++) {
      const cli = runCli(['serve', '--port', '0', '--log-level', 'info', '--data-dir', tempDataDir()]);
      instances.push(cli);
      urls.push(((await cli.logLine('guardgate instance listening')) as { url: string }).url);
    }
    const file = join(tempDataDir(), 'router.yaml');
    // Health checks slow enough that the hung instance is still in rotation while the requests go out.
    writeFileSync(file, 'upstream:\n  attemptTimeoutMs: 1500\nhealth:\n  intervalMs: 60000\n  healthyThreshold: 1\n');
    router = await startTestRouter({ blue: urls.join(',') }, file);
  });
  afterAll(async () => {
    for (const cli of instances) cli.child.kill('SIGCONT');
    for (const cli of instances) cli.child.kill('SIGKILL');
    await router?.close();
  });

  it('every request is answered by the other instance after one short attempt', async () => {
    instances[0]!.child.kill('SIGSTOP');
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${router.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"prompt":"hi"}',
          signal: AbortSignal.timeout(20_000),
        }).then((r) => ({ status: r.status, ms: Date.now() - started })),
      ),
    );
    expect(answers.every(({ status }) => status === 200)).toBe(true);
    // One attempt of 1.5 s on the hung instance, then the other: a deadline, not a speed (a router that waited
    // for the client's 20 s, or tried the hung instance again and again, would take far longer than 10 s).
    expect(Math.max(...answers.map(({ ms }) => ms))).toBeLessThan(10_000);
    const metrics = await (await fetch(`${router.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/guardgate_router_retries_total\{color="blue",outcome="retried"\} [1-9]/);
  });
});
