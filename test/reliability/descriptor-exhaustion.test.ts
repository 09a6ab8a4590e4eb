// A flood of connections cannot take the admin API down with the public port: `guardgate up` under a low
// file descriptor limit (prlimit) keeps the public listener below what the limit leaves, drops the rest at
// once, stays reachable for its operator, and serves again when the flood is gone.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { requireService } from '../helpers/services.js';
import { owned } from '../helpers/owned.js';

const prlimitWorks = (): boolean => {
  try {
    execFileSync('prlimit', ['--nofile=1024:1024', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('descriptor exhaustion', () => {
  it('1,500 idle connections against a 1,024-descriptor up: the admin API answers, the flood is dropped and counted, /predict serves afterwards', async (context) => {
    if (!requireService(prlimitWorks(), 'prlimit (util-linux)', (note) => context.skip(note))) return;
    const dataDir = tempDataDir();
    const child = owned(
      spawn(
        'prlimit',
        ['--nofile=1024:1024', process.execPath, CLI, 'up', '--port', '0', '--admin-port', '0', '--data-dir', dataDir],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', () => undefined);
    const sockets: Socket[] = [];
    try {
      await until(() => out.includes('"guardgate is up"'), 60_000);
      const up = JSON.parse(out.split('\n').find((l) => l.includes('"guardgate is up"'))!) as {
        url: string;
        adminUrl: string;
      };
      const token = readFileSync(`${dataDir}/admin-token`, 'utf8').trim();
      const { hostname, port } = new URL(up.url);
      for (let i = 0; i < 1_500; i++) {
        const socket = connect({ host: hostname, port: Number(port) });
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
      await Promise.all(sockets.map((s) => (s.connecting ? once(s, 'connect').catch(() => undefined) : undefined)));
      const admin = await fetch(`${up.adminUrl}/admin/status`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      });
      expect(admin.status).toBe(200);
      expect(((await admin.json()) as { pools: { blue: { healthy: number } } }).pools.blue.healthy).toBe(1);
      const metrics = await (await fetch(`${up.adminUrl}/metrics`)).text();
      expect(Number(/guardgate_router_dropped_connections_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(500);
      expect(Number(/guardgate_router_client_connections (\d+)/.exec(metrics)?.[1])).toBeLessThanOrEqual(256);
      for (const socket of sockets) socket.destroy();
      await until(async () => {
        const response = await fetch(`${up.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"prompt":"hi"}',
        }).catch(() => undefined);
        return response?.status === 200;
      }, 15_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
