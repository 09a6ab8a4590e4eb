// Both controller stores pass one contract: SQLite and PostgreSQL.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReleaseSpec } from '../../src/release/spec.js';
import { PostgresControllerStore } from '../../src/release/store-postgres.js';
import { SqliteControllerStore, type ControllerStore } from '../../src/release/store.js';
import { POSTGRES_URL, dropSchema, postgresReachable, requireService, testSchema } from '../helpers/services.js';

const spec = (version: string) => parseReleaseSpec({ version }, 'test');
const env = {
  color: 'green' as const,
  version: 'v2',
  engine: { kind: 'lexicon' as const },
  policy: 'strict' as const,
  replicas: 2,
};

function runControllerStoreContract(
  name: string,
  setup: (skip: (note: string) => void) => Promise<{ store: ControllerStore; close(): Promise<void> } | undefined>,
): void {
  describe(`controller store contract: ${name}`, () => {
    let fixture: { store: ControllerStore; close(): Promise<void> } | undefined;
    let skipped: string | undefined;
    beforeAll(async () => {
      fixture = await setup((note) => (skipped = note));
    });
    afterAll(async () => fixture?.close());
    const store = (context: { skip: (note: string) => void }) => {
      if (skipped) context.skip(skipped);
      return fixture!.store;
    };

    it('records the active color and environments', async (context) => {
      const s = store(context);
      expect(await s.active()).toBeNull();
      await s.setActive('blue');
      expect(await s.active()).toBe('blue');
      await s.saveEnvironment(env, '2026-11-27T00:00:00.000Z');
      expect(await s.environment('green')).toEqual({ spec: env, retireAt: '2026-11-27T00:00:00.000Z' });
      expect(await s.environment('blue')).toBeNull();
    });

    it('allows one open release at a time, and only the moves of the state machine', async (context) => {
      const s = store(context);
      const release = await s.createRelease(spec('v2'), 'green', 'blue', 'alice');
      expect(release).toMatchObject({
        version: 'v2',
        state: 'deploying',
        candidate: 'green',
        previous: 'blue',
        forced: false,
      });
      await expect(s.createRelease(spec('v3'), 'green', 'blue', 'alice')).rejects.toMatchObject({
        code: 'release_in_progress',
      });
      await expect(s.transition(release.id, 'stable')).rejects.toMatchObject({ code: 'invalid_state' });
      await s.transition(release.id, 'validating', { note: 'deployed' });
      await s.transition(release.id, 'validating', { evidence: { gate: 'functional', passed: true } });
      await s.transition(release.id, 'blocked');
      await s.transition(release.id, 'switching', { forced: true, actor: 'bob' });
      const watching = await s.transition(release.id, 'watching', { active: 'green' });
      expect(watching).toMatchObject({ state: 'watching', forced: true });
      expect(await s.active()).toBe('green'); // written with the transition
      await s.transition(release.id, 'stable');
      expect(await s.openRelease()).toBeNull();
      const next = await s.createRelease(spec('v3'), 'blue', 'green', 'alice');
      expect((await s.latestRelease())!.id).toBe(next.id);
      expect((await s.releases(10)).map((r) => r.version)).toEqual(['v3', 'v2']);
      const transitions = await s.transitions(release.id);
      expect(transitions.map((t) => [t.from, t.to])).toEqual([
        [null, 'deploying'],
        ['deploying', 'validating'],
        ['validating', 'validating'],
        ['validating', 'blocked'],
        ['blocked', 'switching'],
        ['switching', 'watching'],
        ['watching', 'stable'],
      ]);
      expect(transitions[2]!.evidence).toEqual({ gate: 'functional', passed: true });
      // Who did what: the operator who started it and the one who forced it; the controller for the rest.
      expect(transitions.map((t) => t.actor)).toEqual([
        'alice',
        'controller',
        'controller',
        'controller',
        'bob',
        'controller',
        'controller',
      ]);
      await s.transition(next.id, 'aborted');
    });

    it('records operator actions with their actor, and the active color they leave, together', async (context) => {
      const s = store(context);
      await s.recordAction(
        { actor: 'api_key:ops', action: 'switch', detail: { from: 'blue', to: 'green', forced: false } },
        'green',
      );
      await s.recordAction(
        { actor: 'jwt:alice', action: 'switch', detail: { from: 'green', to: 'blue', forced: true } },
        'blue',
      );
      expect(await s.active()).toBe('blue');
      const actions = await s.actions(10);
      expect(actions.map((a) => [a.actor, a.detail.to, a.detail.forced])).toEqual([
        ['jwt:alice', 'blue', true],
        ['api_key:ops', 'green', false],
      ]);
      expect(actions[0]!.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    });
  });
}

runControllerStoreContract('sqlite', async () => {
  const store = new SqliteControllerStore(
    join(mkdtempSync(join(tmpdir(), 'guardgate-controller-')), 'controller.sqlite'),
  );
  return { store, close: () => store.close() };
});

runControllerStoreContract('postgres', async (skip) => {
  if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, skip)) return undefined;
  const schema = testSchema();
  const store = new PostgresControllerStore(POSTGRES_URL, schema);
  return { store, close: async () => (await store.close(), await dropSchema(schema)) };
});
