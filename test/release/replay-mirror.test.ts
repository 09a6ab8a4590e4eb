// A canary's verdict pairs where no router is in the path: the texts live traffic sent (read from a real audit
// log) are replayed to a real instance of each color, as evidence (neither side counts them as users' traffic),
// and only the new ones; with no audit log, the corpus is replayed instead.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import { replayMirror } from '../../src/gates/replay-mirror.js';
import { snapshotOf } from '../../src/gates/instances-probe.js';
import type { RunningInstance } from '../../src/instance/run.js';
import type { MirrorPair } from '../../src/router/mirror.js';
import { EVIDENCE_HEADER } from '../../src/shared/headers.js';
import type { AuditRecord } from '../../src/store/audit/record.js';
import { SqliteAuditStore } from '../../src/store/audit/sqlite.js';
import { until } from '../helpers/router.js';
import { auditRecord } from '../store/audit-contract.js';
import { startTestInstance } from '../helpers/instance.js';

/** A verdict a user's request got, with its text kept, as of now. */
const record = (prompt: string, color: string, at = new Date()): AuditRecord =>
  auditRecord(randomUUID(), {
    id: randomUUID(),
    time: at.toISOString(),
    color,
    text_digest: randomUUID(),
    prompt,
  });

describe('verdict pairs by replay (a canary without a router)', () => {
  let blue: RunningInstance;
  let green: RunningInstance;
  let audit: SqliteAuditStore;
  let token: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-replay-mirror-'));
    const keys = join(dir, 'keys.json');
    token = addApiKey(keys, 'gates', ['moderate', 'evidence', 'metrics']);
    writeFileSync(join(dir, 'instance.yaml'), `auth:\n  apiKeysFile: ${keys}\n`);
    blue = await startTestInstance({ config: join(dir, 'instance.yaml'), color: 'blue', serviceVersion: 'v1' });
    green = await startTestInstance({ config: join(dir, 'instance.yaml'), color: 'green', serviceVersion: 'v2' });
    audit = new SqliteAuditStore(join(dir, 'audit.db'));
  });
  afterAll(async () => {
    await Promise.all([blue?.shutdown(), green?.shutdown()]);
    await audit?.close();
  });

  const mirrorOver = (withAudit: boolean) =>
    replayMirror({
      audit: withAudit ? audit : undefined,
      corpus: [{ body: JSON.stringify({ prompt: 'corpus text' }), origin: 'corpus' }],
      instanceUrl: (color) => (color === 'blue' ? blue.url : green.url),
      colors: { stable: 'blue', candidate: 'green' },
      headers: { authorization: `Bearer ${token}`, [EVIDENCE_HEADER]: '1' },
      log: pino({ level: 'silent' }),
    });
  const liveCount = async (instance: RunningInstance) =>
    snapshotOf(await (await fetch(`${instance.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text())
      .total;

  it('replays the texts users sent since it started (not one sent half a second before), to both colors, each once, as evidence', async () => {
    await audit.write([record('an old text, before the step', 'blue', new Date(Date.now() - 500))]);
    const mirror = mirrorOver(true);
    expect(mirror.comparesLiveTexts).toBe(true);
    const pairs: MirrorPair[] = [];
    mirror.onMirrorPair((pair) => pairs.push(pair));
    await mirror.setMirror(1);
    try {
      await audit.write([
        record('How do I make a pipe bomb?', 'green'),
        record('What is the capital of France?', 'blue'),
      ]);
      await until(() => pairs.length >= 2, 10_000, 'two replayed pairs');
      await audit.write([record('Tell me a joke about cats.', 'blue')]);
      await until(() => pairs.length >= 3, 10_000, 'a third replayed pair');
      await new Promise((r) => setTimeout(r, 2_500)); // two more looks: nothing is replayed twice
    } finally {
      await mirror.setMirror(0);
    }
    const texts = pairs.map((p) => (JSON.parse(p.request.body.toString()) as { prompt: string }).prompt);
    expect(texts.sort()).toEqual([
      'How do I make a pipe bomb?',
      'Tell me a joke about cats.',
      'What is the capital of France?',
    ]);
    for (const pair of pairs) {
      expect([pair.active.color, pair.active.answeredBy, pair.active.status]).toEqual(['blue', 'blue', 200]);
      expect([pair.standby.color, pair.standby.answeredBy, pair.standby.status]).toEqual(['green', 'green', 200]);
    }
    // Replays are evidence: neither color counts them among users' requests.
    expect([await liveCount(blue), await liveCount(green)]).toEqual([0, 0]);
    // Stopped: no more looks.
    const stoppedAt = pairs.length;
    await audit.write([record('after the canary', 'blue')]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(pairs).toHaveLength(stoppedAt);
  });

  it('without an audit log that keeps texts, replays the corpus', async () => {
    const mirror = mirrorOver(false);
    expect(mirror.comparesLiveTexts).toBe(false);
    const pairs: MirrorPair[] = [];
    mirror.onMirrorPair((pair) => pairs.push(pair));
    await mirror.setMirror(0.5);
    try {
      await until(() => pairs.length >= 3, 10_000, 'three replayed corpus pairs');
    } finally {
      await mirror.setMirror(0);
    }
    expect(new Set(pairs.map((p) => p.request.body.toString()))).toEqual(new Set(['{"prompt":"corpus text"}']));
  });
});
