// The load gate's load: it stops when its gate does, its settings are bounded, and a candidate is warmed up to its
// pace before it is measured. (Its judgement:
// test/unit/release/load-judgement.test.ts; on a busy machine: load-gate-noise.test.ts.)
import { describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { readCpuSeconds, readServedRequests } from '../../src/gates/instance-cpu.js';
import { measureLoad, runLoadGate, WARM_UP_CPU_TOLERANCE, WARM_UP_REQUESTS } from '../../src/gates/load.js';
import { parseReleaseSpec } from '../../src/release/spec.js';
import { until } from '../helpers/router.js';

describe('a gate past its deadline', () => {
  it('stops sending: the load ends when its signal aborts, not when its duration would', async () => {
    let served = 0;
    let fifty!: () => void;
    const reachedFifty = new Promise<void>((resolve) => (fifty = resolve));
    const server = createServer((_req, res) => {
      if (++served === 50) fifty();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const stop = new AbortController();
    const started = Date.now();
    const load = measureLoad(url, { durationSeconds: 600, connections: 2, signal: stop.signal });
    await reachedFifty;
    stop.abort();
    await expect(load).rejects.toThrow(/stopped/);
    const atStop = served;
    // Once every client connection is closed nothing more can arrive: wait for that, not for time.
    await until(
      () => new Promise<boolean>((resolve) => server.getConnections((_error, count) => resolve(count === 0))),
      10_000,
    );
    expect(served - atStop).toBeLessThanOrEqual(2); // at most the requests in flight
    expect(Date.now() - started).toBeLessThan(60_000);
    server.close();
  });

  it('refuses settings that would run for hours or open thousands of connections', () => {
    expect(() => parseReleaseSpec({ version: 'x', gates: { load: { durationSeconds: 3_000_000 } } }, 'test')).toThrow(
      /durationSeconds/,
    );
    expect(() => parseReleaseSpec({ version: 'x', gates: { load: { connections: 100_000 } } }, 'test')).toThrow(
      /connections/,
    );
  });
});

/**
 * A /predict server answering after `delayMs(n)` milliseconds for its n-th request; closed with the test. With
 * `cpuMs`, its /metrics says it spent `cpuMs(n, ms)` CPU milliseconds on the n-th, `ms` after its first (as an
 * instance's process_cpu_seconds_total), and how many requests it has answered, `servedBefore` of them before the
 * test (as an instance's http_request_duration_seconds_count).
 */
async function delayedServer(
  delayMs: (n: number) => number,
  cpuMs?: (n: number, sinceFirstMs: number) => number,
  servedBefore = 0,
): Promise<{ url: string; server: Server }> {
  let served = 0;
  let cpu = 0;
  let first: number | undefined;
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/metrics' && cpuMs !== undefined) {
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(
          `process_cpu_seconds_total ${cpu / 1000}\n` +
            `http_request_duration_seconds_count{route="/predict",method="POST",status_code="200",traffic="live"} ${servedBefore + served}\n` +
            `http_request_duration_seconds_count{route="/readyz",method="GET",status_code="200",traffic="live"} 9999\n`,
        );
      return;
    }
    first ??= Date.now();
    cpu += cpuMs?.(served + 1, Date.now() - first) ?? 0;
    const delay = delayMs(++served);
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"flagged":false}'), delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** Closes test servers at once, kept-alive connections included. */
async function closeServers(...servers: Array<{ server: Server }>): Promise<void> {
  for (const { server } of servers) server.closeAllConnections();
  await Promise.all(servers.map(({ server }) => new Promise((resolve) => server.close(resolve))));
}

/** The shipped example's load gate (examples/lexicon-v2.yaml), reading each side's CPU and requests from its /metrics. */
const gateWithCpu = (active: { url: string }, candidate: { url: string }) =>
  runLoadGate(
    active.url,
    candidate.url,
    {
      durationSeconds: 3,
      connections: 8,
      readCpu: (endpoint) => readCpuSeconds(endpoint, {}),
      readServed: (endpoint) => readServedRequests(endpoint, {}),
    },
    { p99: 0.5, qps: 0.3, errorRate: 0 },
  );

describe('a candidate started moments ago', () => {
  it('is warmed up until it has answered enough requests to reach its pace, and then judged at its pace', async () => {
    // Seen in CI on a busy machine: a fresh pod at half the live version's QPS for its first ~1,450 requests
    // (about 11 s there), then at pace. Here: 40 ms for its first 1,500 requests, then as fast as the active one.
    const slowFor = 1_500;
    const active = await delayedServer(() => 5);
    const candidate = await delayedServer((n) => (n <= slowFor ? 40 : 5));
    try {
      const report = await runLoadGate(
        active.url,
        candidate.url,
        { durationSeconds: 3, connections: 8 }, // the shipped example's load (examples/lexicon-v2.yaml)
        { p99: 0.5, qps: 0.3, errorRate: 0 },
      );
      expect(`${report.passed} ${report.summary}`).toMatch(/^true /);
      // The warm-up is evidence too: how long, and how many requests each side answered before the measurement.
      expect(report.evidence.warmUp.candidate.requests).toBeGreaterThanOrEqual(Math.min(WARM_UP_REQUESTS, slowFor));
      expect(report.evidence.warmUp.candidate.seconds).toBeGreaterThan(report.evidence.warmUp.active.seconds);
      expect(report.summary).toMatch(/warmed up: active \d+ requests in \d+ s, candidate \d+ requests in \d+ s/);
    } finally {
      await closeServers(active, candidate);
    }
  });
  it('is warmed up as long when the machine slowed the active side as much during the warm-up', async () => {
    // Seen beside two busy loops (the demo blocked): both sides' warm-ups slow alike (the candidate looked at
    // pace), then the active side at full speed and the candidate at half for its first ~1,800 requests. Here:
    // the active side slow for the 600 requests of its warm-up, the candidate for its first 1,900.
    const active = await delayedServer((n) => (n <= 600 ? 40 : 5));
    const candidate = await delayedServer((n) => (n <= 1_900 ? 40 : 5));
    try {
      const report = await runLoadGate(
        active.url,
        candidate.url,
        { durationSeconds: 3, connections: 8 },
        { p99: 0.5, qps: 0.3, errorRate: 0 },
      );
      expect(`${report.passed} ${report.summary}`).toMatch(/^true /);
      expect(report.evidence.warmUp.candidate.requests).toBeGreaterThanOrEqual(WARM_UP_REQUESTS);
    } finally {
      await closeServers(active, candidate);
    }
  });

  it('is warmed up until a request costs it no more CPU than the active side, however many requests that takes', async () => {
    // Seen beside eight busy loops: a fresh instance cost 0.67, 0.37, 0.26 ms of CPU per request in its first
    // seconds against a warm one's 0.2, and reached it after about 4,000 requests (slower meanwhile: CPU is what a
    // busy machine has least of). Here: three times the active side's CPU and 10 ms for its first 4,000 requests.
    const dearFor = 4_000;
    const active = await delayedServer(
      () => 2,
      () => 0.2,
    );
    const candidate = await delayedServer(
      (n) => (n <= dearFor ? 10 : 2),
      (n) => (n <= dearFor ? 0.6 : 0.2),
    );
    try {
      const report = await gateWithCpu(active, candidate);
      const { warmUp } = report.evidence;
      expect(warmUp.candidate.requests, report.summary).toBeGreaterThan(dearFor);
      expect(warmUp.active.cpuMsPerRequest).toBeCloseTo(0.2, 2); // the requests in flight at a slice's end count on one side only
      expect(warmUp.candidate.cpuMsPerRequest).toBeLessThanOrEqual(0.2 * (1 + WARM_UP_CPU_TOLERANCE));
      expect(`${report.passed} ${report.summary}`).toMatch(/^true /);
      // Each side's CPU per request is in the summary, for whoever reads why a candidate was blocked.
      expect(report.summary).toMatch(/candidate p50 .*, 0\.20 ms CPU per request; active .*, 0\.20 ms CPU per request/);
    } finally {
      await closeServers(active, candidate);
    }
  });

  it('is held to what a request costs the active side after its warm-up, when the active side is young itself', async () => {
    // Seen in `guardgate demo`, whose active side starts seconds before the release: 0.34 ms of CPU per request in
    // its warm-up, 0.22 once measured. Here the active side costs 0.5 ms for the first two seconds of its 3-s
    // warm-up (0.32–0.35 over it, as measured), then 0.2; the candidate 0.6 for its first 2,000 requests, 0.38 up to
    // 4,000 (within 25% of the active side's warm-up figure, not of its cost after), then 0.2.
    const active = await delayedServer(
      () => 2,
      (_n, ms) => (ms < 2_000 ? 0.5 : 0.2),
    );
    const candidate = await delayedServer(
      (n) => (n <= 4_000 ? 10 : 2),
      (n) => (n <= 2_000 ? 0.6 : n <= 4_000 ? 0.38 : 0.2),
    );
    try {
      const report = await gateWithCpu(active, candidate);
      const { warmUp } = report.evidence;
      expect(warmUp.candidate.requests, report.summary).toBeGreaterThan(4_000);
      // Young: it had answered no request before the gate, so it was warmed up (3 s), then measured again (1 s).
      expect(warmUp.active, report.summary).toMatchObject({ servedBefore: 0, seconds: 4 });
      expect(warmUp.active.cpuMsPerRequest, report.summary).toBeCloseTo(0.2, 2);
      expect(`${report.passed} ${report.summary}`).toMatch(/^true /);
    } finally {
      await closeServers(active, candidate);
    }
  });

  it('is measured beside an active side that is already at its pace after one second of it, not a warm-up', async () => {
    // Live traffic or an earlier gate has warmed the active side (here: 5,000 requests before the gate, at its
    // cost); a second of load is its reference, the candidate is warmed up as before (0.6 ms for its first 2,500).
    const active = await delayedServer(
      () => 2,
      () => 0.2,
      5_000,
    );
    const candidate = await delayedServer(
      (n) => (n <= 2_500 ? 10 : 2),
      (n) => (n <= 2_500 ? 0.6 : 0.2),
    );
    try {
      const report = await gateWithCpu(active, candidate);
      const { warmUp } = report.evidence;
      expect(warmUp.active, report.summary).toMatchObject({ seconds: 1, servedBefore: 5_000 });
      expect(warmUp.active.cpuMsPerRequest).toBeCloseTo(0.2, 2);
      expect(warmUp.candidate.requests, report.summary).toBeGreaterThan(2_500);
      expect(`${report.passed} ${report.summary}`).toMatch(/^true /);
      expect(report.summary).toMatch(
        /warmed up: active at its pace \(5000 requests served before\), \d+ requests in 1 s/,
      );
    } finally {
      await closeServers(active, candidate);
    }
  });
});
