// The one contract every way of moving traffic passes (the router, a Kubernetes Service selector): live
// requests reach the active color and previews the standby, a switch moves new requests, a color with no
// ready instance is refused, ready instances are counted.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Endpoint, Traffic } from '../../src/release/traffic.js';

/** One verdict over a new connection (nothing kept alive: where it lands is the traffic's choice now). */
export function colorOf(endpoint: Endpoint, credentials: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL('/predict', endpoint.url);
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', ...endpoint.headers, ...credentials },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve((JSON.parse(body) as { color: string }).color)
            : reject(new Error(`${res.statusCode} ${body}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ prompt: 'hello' }));
  });
}

export interface TrafficFixture {
  traffic: Traffic;
  /** What the controller sends with gate traffic (the admin token). */
  credentials: Record<string, string>;
  /** Take every instance of a color out (it stays deployed or not, as the mode needs). */
  empty(color: 'blue' | 'green'): Promise<void>;
  close(): Promise<void>;
}

export function runTrafficContract(name: string, setup: () => Promise<TrafficFixture>): void {
  describe(`traffic contract: ${name}`, () => {
    let fixture: TrafficFixture;
    beforeAll(async () => {
      fixture = await setup();
    }, 60_000);
    afterAll(async () => fixture?.close());

    it('sends live requests to the active color and previews to the standby', async () => {
      expect(fixture.traffic.active).toBe('blue');
      expect(await colorOf(fixture.traffic.live(), fixture.credentials)).toBe('blue');
      expect(await colorOf(fixture.traffic.preview(), fixture.credentials)).toBe('green');
      expect(await fixture.traffic.healthyCount('blue')).toBeGreaterThan(0);
    });

    it('a switch sends the next requests to the other color, and previews to the old one', async () => {
      const result = await fixture.traffic.switchTo('green');
      expect(result).toMatchObject({ previous: 'blue', active: 'green' });
      expect(fixture.traffic.active).toBe('green');
      for (let i = 0; i < 5; i++) expect(await colorOf(fixture.traffic.live(), fixture.credentials)).toBe('green');
      expect(await colorOf(fixture.traffic.preview(), fixture.credentials)).toBe('blue');
      await fixture.traffic.switchTo('blue');
      expect(await colorOf(fixture.traffic.live(), fixture.credentials)).toBe('blue');
    });

    it('refuses to switch to a color with no ready instance, and traffic stays where it was', async () => {
      await fixture.empty('green');
      expect(await fixture.traffic.healthyCount('green')).toBe(0);
      await expect(fixture.traffic.switchTo('green')).rejects.toMatchObject({ code: 'switch_refused' });
      expect(fixture.traffic.active).toBe('blue');
      expect(await colorOf(fixture.traffic.live(), fixture.credentials)).toBe('blue');
    });
  });
}
