// The router cannot be wedged by clients that pipeline requests and hang up early: every request it
// forwards ends (the upstream request is cancelled when the client goes away), in-flight counts return
// to zero, and the public port keeps serving. A client that goes away is recorded as aborted, not as an
// upstream failure.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../../src/router/run.js';
import type { Router } from '../../src/router/router.js';
import { exchange } from '../helpers/raw-http.js';
import { admin, startTestRouter, until } from '../helpers/router.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const PAIRS = 300;

const pipelinedPair = (): string => {
  const body = '{"prompt":"hello"}';
  const one = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return one + one;
};

/** Send a pipelined pair and close the socket after `afterMs`, answered or not. */
const hangUp = (port: number, afterMs: number): Promise<void> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(pipelinedPair());
      setTimeout(() => socket.destroy(), afterMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });

describe('a router under clients that pipeline and hang up', () => {
  let upstream: TestUpstream;
  let router: RunningRouter<Router>;
  beforeAll(async () => {
    upstream = await startUpstream('blue-1');
    upstream.delayMs = 60; // slower than the clients are patient
    router = await startTestRouter({ blue: upstream.url });
  });
  afterAll(async () => {
    await router?.close();
    await upstream?.close();
  });

  it(`${PAIRS} pipelined pairs abandoned after 30 ms leave nothing in flight, and normal requests are served`, async () => {
    const port = Number(new URL(router.url).port);
    for (let i = 0; i < PAIRS; i += 20) await Promise.all(Array.from({ length: 20 }, () => hangUp(port, 30)));
    const inFlight = () => router.router.localStatus().pools.blue.instances.reduce((sum, i) => sum + i.inFlight, 0);
    await until(() => inFlight() === 0, 10_000);
    upstream.delayMs = 0;
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${router.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"prompt":"hi"}',
        signal: AbortSignal.timeout(5_000),
      });
      expect(response.status).toBe(200);
      await response.text();
    }
    // Clients that went away are aborted (499 in nginx's words), never upstream errors.
    const metrics = await (await fetch(`${router.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /guardgate_router_requests_total\{color="blue",reason="active",status_code="aborted"\} [1-9]/,
    );
    // None recorded as an upstream failure (a health-check flap on a busy machine may still eject and 503).
    expect(metrics.split('\n').filter((l) => /^guardgate_router_requests_total.*status_code="50[24]"/.test(l))).toEqual(
      [],
    );
    expect((await admin(router, 'GET', '/admin/status')).status).toBe(200);
  });

  it('one connection pipelining 40 requests gets 16 in flight at most: the rest are refused 503 overloaded, none hang', async () => {
    upstream.delayMs = 200;
    upstream.peakPending = 0;
    const { hostname, port } = new URL(router.url);
    const body = '{"prompt":"hello"}';
    const one = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const result = await exchange(hostname, Number(port), Buffer.from(one.repeat(40)), {
      methods: Array(40).fill('POST'),
      timeoutMs: 20_000,
      expect: 40,
    });
    upstream.delayMs = 0;
    expect(result.hung).toBe(false);
    expect(result.responses).toHaveLength(40);
    const statuses = result.responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(16);
    // What the instance saw at once from that one connection: 16 at most.
    expect(upstream.peakPending).toBeGreaterThan(1);
    expect(upstream.peakPending).toBeLessThanOrEqual(16);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(
      result.responses
        .filter((r) => r.status === 503)
        .every((r) => JSON.parse(r.body.toString()).error.code === 'overloaded'),
    ).toBe(true);
  });
});
