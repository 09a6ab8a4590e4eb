// Both controller stores pass one contract: SQLite and PostgreSQL.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
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
      // A credential rotation changes no color: the active one stays as the last switch left it.
      await s.recordAction({
        actor: 'admin_token:admin',
        action: 'credential_rotation',
        detail: { outcome: 'failed', reason: 'pod-a (not known there)' },
      });
      expect(await s.active()).toBe('blue');
      const actions = await s.actions(10);
      expect(actions.map((a) => [a.actor, a.action === 'switch' ? a.detail.to : a.detail.outcome])).toEqual([
        ['admin_token:admin', 'failed'],
        ['jwt:alice', 'blue'],
        ['api_key:ops', 'green'],
      ]);
      expect(actions[1]).toMatchObject({ detail: { forced: true } });
      expect(actions[0]).toMatchObject({ detail: { reason: 'pod-a (not known there)' } });
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

describe('PostgreSQL controller store: controllers of different targets share one database', () => {
  let skipped: string | undefined;
  let schema: string;
  const opened: PostgresControllerStore[] = [];
  const open = (target: string) => {
    const store = new PostgresControllerStore(POSTGRES_URL, schema, target);
    opened.push(store);
    return store;
  };
  beforeAll(async () => {
    requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, (note) => (skipped = note));
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    if (schema !== undefined) await dropSchema(schema);
  });

  it('two clusters never see each other: active color, environments, releases, actions, each their own', async (context) => {
    if (skipped) context.skip(skipped);
    schema = testSchema();
    const east = open('kubernetes:https://east.example:6443/guardgate/guardgate');
    const west = open('kubernetes:https://west.example:6443/guardgate/guardgate');
    // Both start at once: the schema is created once, under a lock.
    await Promise.all([east.setActive('blue'), west.setActive('green')]);
    expect([await east.active(), await west.active()]).toEqual(['blue', 'green']);
    await east.saveEnvironment({ ...env, color: 'blue', version: 'east-v1' });
    await west.saveEnvironment({ ...env, color: 'blue', version: 'west-v7' });
    expect((await east.environment('blue'))?.spec.version).toBe('east-v1');
    expect((await west.environment('blue'))?.spec.version).toBe('west-v7');
    // One open release per target, not per database.
    const a = await east.createRelease(spec('east-v2'), 'green', 'blue', 'alice');
    const b = await west.createRelease(spec('west-v8'), 'blue', 'green', 'bob');
    await expect(east.createRelease(spec('east-v3'), 'green', 'blue', 'alice')).rejects.toMatchObject({
      code: 'release_in_progress',
    });
    expect((await east.openRelease())?.version).toBe('east-v2');
    expect((await west.releases(10)).map((r) => r.version)).toEqual(['west-v8']);
    // A release id of the other target is not found, and cannot be moved.
    expect(await east.release(b.id)).toBeNull();
    expect(await east.transitions(b.id)).toEqual([]);
    await expect(east.transition(b.id, 'validating')).rejects.toMatchObject({ code: 'not_found' });
    await east.transition(a.id, 'validating', { note: 'deployed', active: 'blue' });
    expect(await west.active()).toBe('green');
    await west.recordAction(
      { actor: 'jwt:bob', action: 'switch', detail: { from: 'green', to: 'blue', forced: false } },
      'blue',
    );
    expect(await east.actions(10)).toEqual([]);
    expect(await east.active()).toBe('blue');
  });

  it('rows written before targets existed are claimed by the first target alone', async (context) => {
    if (skipped) context.skip(skipped);
    schema = testSchema();
    // A store of the previous version (no target column): one active color, one environment, one release.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema};
        CREATE TABLE ${schema}.guardgate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE ${schema}.guardgate_environments (color TEXT PRIMARY KEY, spec TEXT NOT NULL, retire_at TEXT);
        CREATE TABLE ${schema}.guardgate_releases (id SERIAL PRIMARY KEY, version TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
          candidate TEXT NOT NULL, previous TEXT NOT NULL, forced INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, note TEXT);
        CREATE UNIQUE INDEX guardgate_one_open_release ON ${schema}.guardgate_releases ((true)) WHERE state NOT IN ('stable', 'aborted', 'rolled_back');
        INSERT INTO ${schema}.guardgate_meta VALUES ('active', 'green');
        INSERT INTO ${schema}.guardgate_environments VALUES ('green', '${JSON.stringify({ ...env, version: 'legacy-v3' })}', NULL);
        INSERT INTO ${schema}.guardgate_releases (version, spec, state, candidate, previous, created_at, updated_at)
          VALUES ('legacy-v3', '{}', 'stable', 'green', 'blue', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z');`);
    } finally {
      await client.end();
    }
    const first = open('local:host-a:/var/lib/guardgate');
    expect(await first.active()).toBe('green');
    expect((await first.environment('green'))?.spec.version).toBe('legacy-v3');
    expect((await first.latestRelease())?.version).toBe('legacy-v3');
    // A second target starts from nothing: it does not take (or see) the first one's rows.
    const second = open('local:host-b:/var/lib/guardgate');
    expect(await second.active()).toBeNull();
    expect(await second.latestRelease()).toBeNull();
    // Both may now run a release each.
    await first.createRelease(spec('a-v4'), 'blue', 'green', 'alice');
    await second.createRelease(spec('b-v1'), 'green', 'blue', 'bob');
  });
});
