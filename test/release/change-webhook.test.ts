// The change record, pushed: every release transition and operator switch reaches the webhook, in order,
// signed, retried while the receiver fails, and a receiver that hangs never holds up a release.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELIVERY_HEADER,
  signature,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  withoutUserText,
  type ChangeRecord,
} from '../../src/release/change-webhook.js';
import type { RunningUp } from '../../src/app/up.js';
import { postJson, tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { quickSpec, startTestUp } from '../helpers/up.js';

const SECRET = 'change-webhook-test-secret-0123456789';

interface Receiver {
  url: string;
  received: Array<{ headers: IncomingMessage['headers']; body: string }>;
  /** ok, fail (500), or hang (never answer). */
  mode: 'ok' | 'fail' | 'hang';
  failNext: number;
  hanging: ServerResponse[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver = { received: [], mode: 'ok', failNext: 0, hanging: [] } as unknown as Receiver;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      receiver.received.push({ headers: req.headers, body });
      if (receiver.mode === 'hang') return void receiver.hanging.push(res);
      if (receiver.failNext > 0) {
        receiver.failNext--;
        return void res.writeHead(500).end('try later');
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/changes`;
  receiver.close = () =>
    new Promise((resolve) => {
      for (const res of receiver.hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

const upWithWebhook = (receiver: Receiver, extra = '') => {
  const dir = mkdtempSync(join(tmpdir(), 'guardgate-webhook-'));
  writeFileSync(
    join(dir, 'up.yaml'),
    `changeWebhook:\n  url: ${receiver.url}\n  secret: { env: GUARDGATE_CHANGE_WEBHOOK_SECRET }\n  backoffMs: 50\n  timeoutMs: 1000\n${extra}`,
  );
  return startTestUp(tempDataDir(), { GUARDGATE_CHANGE_WEBHOOK_SECRET: SECRET }, { config: join(dir, 'up.yaml') });
};

/** The records delivered (2xx), in the order they were first sent, each once. */
const delivered = (receiver: Receiver): ChangeRecord[] => {
  const seen = new Map<string, ChangeRecord>();
  for (const { body } of receiver.received) {
    const record = JSON.parse(body) as ChangeRecord;
    if (!seen.has(record.id)) seen.set(record.id, record);
  }
  return [...seen.values()];
};

const quick = (version: string) =>
  quickSpec({
    version,
    gates: {
      load: { enabled: false },
      shadow: { durationSeconds: 2, samples: 20, minSamples: 0 },
      watch: { durationSeconds: 1, minRequests: 0, onInconclusive: 'pass' },
    },
  });

describe('the change webhook', () => {
  let receiver: Receiver;
  let up: RunningUp;
  beforeAll(async () => {
    receiver = await startReceiver();
    up = await upWithWebhook(receiver);
  });
  afterAll(async () => {
    await up?.close();
    await receiver?.close();
  });

  it('posts the opening and every transition of a release, in order, signed, with its actor and evidence, through a receiver that fails at first', async () => {
    receiver.failNext = 2;
    await up.controller.release(quick('v2'), 'api_key:deployer');
    await up.controller.settled();
    expect((await up.controller.status()).release!.state).toBe('stable');
    await until(() => delivered(receiver).at(-1)?.release?.state === 'stable', 15_000);
    const records = delivered(receiver);
    expect(records[0]).toMatchObject({
      type: 'release.created',
      actor: 'api_key:deployer',
      release: { version: 'v2', state: 'deploying', from: null },
    });
    // A chain: each transition leaves the state the previous one reached.
    for (let i = 1; i < records.length; i++)
      expect(records[i]!.release!.from, JSON.stringify(records[i])).toBe(records[i - 1]!.release!.state);
    const states = records.map((r) => r.release!.state);
    expect(states).toEqual(expect.arrayContaining(['validating', 'switching', 'watching', 'stable']));
    expect(records.filter((r) => (r.evidence as { gate?: string } | undefined)?.gate === 'functional')).toHaveLength(1);
    // Retried: the first record was sent three times, under one delivery id.
    const first = receiver.received.filter((r) => r.headers[DELIVERY_HEADER] === records[0]!.id);
    expect(first.map((r) => r.headers['x-guardgate-attempt'])).toEqual(['1', '2', '3']);
    // Every request is signed over its timestamp and body; a wrong secret would not verify.
    for (const { headers, body } of receiver.received) {
      expect(headers[SIGNATURE_HEADER]).toBe(signature(SECRET, headers[TIMESTAMP_HEADER] as string, body));
      expect(headers[SIGNATURE_HEADER]).not.toBe(
        signature('another-secret-0123456789', headers[TIMESTAMP_HEADER] as string, body),
      );
    }
  });

  it('posts an operator switch with who made it', async () => {
    const switched = await postJson(
      `${up.adminUrl}/admin/switch`,
      { color: 'blue' },
      { authorization: `Bearer ${up.token}` },
    );
    expect(switched.status).toBe(200);
    await until(() => delivered(receiver).some((r) => r.type === 'operator.switch'), 10_000);
    expect(delivered(receiver).find((r) => r.type === 'operator.switch')).toMatchObject({
      actor: 'admin_token:admin',
      switch: { from: 'green', to: 'blue' },
    });
  });

  it('never holds up a release: with the receiver hanging, the release switches and settles', async () => {
    receiver.mode = 'hang';
    const before = receiver.received.length;
    await up.controller.release(quick('v3'));
    await up.controller.settled();
    const release = (await up.controller.status()).release!;
    expect(`${release.state}: ${release.note}`).toMatch(/^stable/);
    expect(receiver.received.length).toBeGreaterThan(before);
    // Back to answering: the records waiting behind the hung ones arrive.
    receiver.mode = 'ok';
    for (const res of receiver.hanging.splice(0)) res.destroy();
    await until(
      () => delivered(receiver).some((r) => r.release?.version === 'v3' && r.release.state === 'stable'),
      30_000,
    );
  });

  it("never sends users' text: shadow examples keep their digest only", () => {
    const evidence = {
      gate: 'shadow',
      evidence: {
        disagreements: [{ request: { digest: 'ab12', prompt: 'my secret question', response: 'an answer' } }],
        cases: [{ name: 'bomb', prompt: 'x' }],
      },
    };
    const sent = JSON.stringify(withoutUserText(evidence));
    expect(sent).not.toContain('my secret question');
    expect(sent).not.toContain('an answer');
    expect(sent).toContain('ab12');
  });

  it('refuses plain http to another host, and a short secret, at start', async () => {
    await expect(
      startTestUp(
        tempDataDir(),
        { GUARDGATE_CHANGE_WEBHOOK_SECRET: SECRET },
        {
          config: (() => {
            const dir = mkdtempSync(join(tmpdir(), 'guardgate-webhook-'));
            writeFileSync(
              join(dir, 'up.yaml'),
              `changeWebhook:\n  url: http://cmdb.example.com/changes\n  secret: { env: GUARDGATE_CHANGE_WEBHOOK_SECRET }\n`,
            );
            return join(dir, 'up.yaml');
          })(),
        },
      ),
    ).rejects.toThrow(/must be https/);
    await expect(
      startTestUp(
        tempDataDir(),
        { GUARDGATE_CHANGE_WEBHOOK_SECRET: 'short' },
        {
          config: (() => {
            const dir = mkdtempSync(join(tmpdir(), 'guardgate-webhook-'));
            writeFileSync(
              join(dir, 'up.yaml'),
              `changeWebhook:\n  url: ${receiver.url}\n  secret: { env: GUARDGATE_CHANGE_WEBHOOK_SECRET }\n`,
            );
            return join(dir, 'up.yaml');
          })(),
        },
      ),
    ).rejects.toThrow(/at least 16 characters/);
  });
});
