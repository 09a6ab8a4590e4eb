// A body over the limit: refused with 413 in JSON before it is sent when the client asks first
// (`Expect: 100-continue`), and otherwise refused without breaking the client's upload (no broken pipe).
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningInstance } from '../../src/instance/run.js';
import { startTestInstance } from '../helpers/instance.js';
import { until } from '../helpers/router.js';

interface Upload {
  continued: boolean;
  status: number | undefined;
  body: string;
  error: string | undefined;
  sentBytes: number;
}

/** A body over the instance's limit (1 MiB). */
const TOO_LARGE = Buffer.alloc(4 * 1_048_576, 0x20);

/** POST `body` in 64 KiB chunks, as a client that keeps uploading while it waits for the answer. */
function upload(url: string, body: Buffer, expectContinue: boolean): Promise<Upload> {
  const bytes = body.length;
  return new Promise((resolve) => {
    const result: Upload = { continued: false, status: undefined, body: '', error: undefined, sentBytes: 0 };
    const { hostname, port } = new URL(url);
    const req = request({
      host: hostname,
      port,
      method: 'POST',
      path: '/predict',
      headers: {
        'content-type': 'application/json',
        'content-length': bytes,
        ...(expectContinue ? { expect: '100-continue' } : {}),
      },
    });
    const send = () => {
      while (result.sentBytes < bytes) {
        const piece = body.subarray(result.sentBytes, Math.min(bytes, result.sentBytes + 65_536));
        result.sentBytes += piece.length;
        if (!req.write(piece)) return void req.once('drain', send);
      }
      req.end();
    };
    req.on('continue', () => {
      result.continued = true;
      send();
    });
    req.on('response', (response: IncomingMessage) => {
      result.status = response.statusCode;
      response.on('data', (data: Buffer) => (result.body += data.toString()));
      response.on('end', () => resolve(result));
    });
    req.on('error', (error) => {
      result.error = error.message;
      resolve(result);
    });
    if (!expectContinue) send();
  });
}

describe('a body over the limit', () => {
  let instance: RunningInstance;
  beforeAll(async () => {
    instance = await startTestInstance();
  });
  afterAll(async () => instance?.shutdown());

  it('with Expect: 100-continue: 413 in JSON instead of 100, and nothing is uploaded', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await upload(instance.url, TOO_LARGE, true);
      expect(result).toMatchObject({ continued: false, status: 413, error: undefined, sentBytes: 0 });
      expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'body_too_large' } });
    }
  });

  it("without Expect: 413 in JSON, and the client's upload is not broken", async () => {
    for (let i = 0; i < 5; i++) {
      const result = await upload(instance.url, TOO_LARGE, false);
      expect(result.error).toBeUndefined();
      expect(result.status).toBe(413);
      expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'body_too_large' } });
    }
  });

  it('a body within the limit with Expect: 100-continue is invited and judged', async () => {
    const answer = await upload(instance.url, Buffer.from(JSON.stringify({ prompt: 'hello there' })), true);
    expect(answer.continued).toBe(true);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ safety: 'Safe' });
  });
});

describe('clients that hang up', () => {
  it('a client that hangs up mid-body or before its answer leaves no request counted in flight', async () => {
    const instance = await startTestInstance();
    try {
      const { hostname, port } = new URL(instance.url);
      const hangUp = (full: boolean) =>
        new Promise<void>((resolve) => {
          const socket = connect(Number(port), hostname, () => {
            const body = JSON.stringify({ prompt: 'x'.repeat(1_000) });
            socket.write(
              `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${full ? body : body.slice(0, 100)}`,
            );
            setTimeout(() => (socket.destroy(), resolve()), full ? 0 : 20);
          });
          socket.on('error', () => resolve());
        });
      await Promise.all(Array.from({ length: 50 }, (_, i) => hangUp(i % 2 === 0)));
      let gauge = NaN;
      await until(
        async () => {
          const metrics = await (await fetch(`${instance.url}/metrics`)).text();
          gauge = Number(/^guardgate_http_requests_in_flight (\d+)/m.exec(metrics)?.[1]);
          return gauge === 1; // the scrape itself
        },
        5_000,
        'no request in flight but the scrape',
      ).catch(() => undefined);
      expect(gauge).toBe(1);
    } finally {
      await instance.shutdown();
    }
  });
});
