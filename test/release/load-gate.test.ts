// The load gate's load: it stops when its gate does, and its settings are bounded. (Its judgement:
// test/unit/release/load-judgement.test.ts; on a busy machine: load-gate-noise.test.ts.)
import { describe, expect, it } from 'vitest';
import { measureLoad } from '../../src/gates/load.js';
import { parseReleaseSpec } from '../../src/release/spec.js';
import { until } from '../helpers/router.js';

describe('a gate past its deadline', () => {
  it('stops sending: the load ends when its signal aborts, not when its duration would', async () => {
    const { createServer } = await import('node:http');
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
