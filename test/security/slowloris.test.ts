// Slow clients cannot take the front door: 500 connections that dribble their headers are closed at the
// headers deadline (with a JSON 408 where the socket still listens), while normal requests keep being
// served. (Latency under the attack is a figure, printed by bench/attack.ts, not asserted here.)
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../../src/config/router.js';
import { startRouter, type RunningRouter } from '../../src/router/run.js';
import type { Router } from '../../src/router/router.js';
import { ADMIN_TOKEN, until } from '../helpers/router.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SLOW_CONNECTIONS = 500;

describe('slowloris on the public port', () => {
  let upstream: TestUpstream;
  let router: RunningRouter<Router>;
  beforeAll(async () => {
    upstream = await startUpstream('blue-1');
    const config = loadRouterConfig({ port: '0', adminPort: '0', blue: upstream.url }, {});
    config.timeouts = { ...config.timeouts, headersMs: 1_500 };
    router = await startRouter(config, config.auth, { ...config.admin, token: ADMIN_TOKEN }, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await router?.close();
    await upstream?.close();
  });

  it(`${SLOW_CONNECTIONS} dribbling connections are cut at the headers deadline while normal traffic is served`, async () => {
    const { hostname, port } = new URL(router.url);
    const slow: Array<{ socket: Socket; closed: boolean; answer: string }> = [];
    for (let i = 0; i < SLOW_CONNECTIONS; i++) {
      const socket = connect({ host: hostname, port: Number(port) });
      const entry = { socket, closed: false, answer: '' };
      socket.on('data', (chunk: Buffer) => (entry.answer += chunk.toString()));
      socket.on('close', () => (entry.closed = true));
      socket.on('error', () => undefined);
      socket.write('POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      slow.push(entry);
    }
    const dribble = setInterval(() => {
      for (const entry of slow)
        if (!entry.closed) entry.socket.write(`X-Slow-${Math.floor(Math.random() * 1e6)}: a\r\n`);
    }, 200);
    const agent = new Agent({ connections: 4 });
    let served = 0;
    const failures: string[] = [];
    try {
      while (slow.some((e) => !e.closed) || served < 200) {
        try {
          const response = await request(`${router.url}/predict`, {
            method: 'POST',
            body: '{"prompt":"hi"}',
            headers: { 'content-type': 'application/json' },
            dispatcher: agent,
          });
          await response.body.text();
          if (response.statusCode === 200) served++;
          else failures.push(`HTTP ${response.statusCode}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
        if (served > 20_000) break;
      }
      await until(() => slow.every((e) => e.closed), 15_000);
    } finally {
      clearInterval(dribble);
      for (const entry of slow) entry.socket.destroy();
      await agent.close();
    }
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThanOrEqual(200);
    const timedOut = slow.filter((e) => e.answer.startsWith('HTTP/1.1 408'));
    expect(timedOut.length).toBeGreaterThan(SLOW_CONNECTIONS / 2);
    expect(JSON.parse(timedOut[0]!.answer.split('\r\n\r\n')[1]!)).toEqual({
      error: { code: 'request_timeout', message: 'the request was not received in time' },
    });
  });
});
