// Prometheus from Debian, started on loopback by a test, scraping the given targets every second.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryScalar } from '../../src/gates/prometheus.js';
import { owned } from './owned.js';

export const prometheusInstalled = (): Promise<boolean> =>
  new Promise((resolve) => {
    const probe = spawn('prometheus', ['--version'], { stdio: 'ignore' });
    probe.once('error', () => resolve(false));
    probe.once('exit', (code) => resolve(code === 0));
  });

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** `instances`: more targets, scraped with `bearer` (instances' /metrics needs the metrics scope). */
export async function startPrometheus(
  targets: string[],
  instances?: { targets: string[]; bearer: string },
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'guardgate-prometheus-'));
  const port = await freePort();
  const list = (all: string[]) => `[${all.map((t) => `"${t}"`).join(', ')}]`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: guardgate\n    static_configs:\n      - targets: ${list(targets)}\n` +
      (instances === undefined
        ? ''
        : `  - job_name: instances\n    authorization:\n      credentials: "${instances.bearer}"\n    static_configs:\n      - targets: ${list(instances.targets)}\n`),
  );
  const child: ChildProcess = owned(
    spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await queryScalar(url, 'min(up{job="guardgate"})')) === 1) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('Prometheus did not scrape its targets within 30 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
