// The controller's durable state: the active color, each color's environment, releases and every
// transition with its time and evidence (the change record). One interface; SQLite in the data directory
// (here) or PostgreSQL (store-postgres.ts) when several controllers or machines share it.
import Database from 'better-sqlite3';
import { GuardgateError } from '../vocabulary/errors.js';
import type { Color } from '../vocabulary/colors.js';
import type { EnvironmentSpec } from '../drivers/driver.js';
import type { ReleaseSpec } from './spec.js';
import { canMove, type ReleaseState } from './states.js';

/** A release as the store keeps it. */
export interface Release {
  id: number;
  version: string;
  spec: ReleaseSpec;
  state: ReleaseState;
  candidate: Color;
  previous: Color;
  forced: boolean;
  createdAt: string;
  updatedAt: string;
  note: string | null;
}

/** One move of a release: when, from, to, why, by whom, with what evidence. */
export interface Transition {
  at: string;
  from: ReleaseState | null;
  to: ReleaseState;
  note: string | null;
  evidence: unknown;
  /** Who caused it: an operator's subject (admin token, API key name, JWT sub), or `controller`. */
  actor: string;
}

/** A transition as a table row. */
export interface TransitionRow {
  at: string;
  from_state: ReleaseState | null;
  to_state: ReleaseState;
  note: string | null;
  evidence: string | null;
  actor: string | null;
}

/** A transition from its row. */
export const toTransition = (r: TransitionRow): Transition => ({
  at: r.at,
  from: r.from_state,
  to: r.to_state,
  note: r.note,
  evidence: r.evidence === null ? null : (JSON.parse(r.evidence) as unknown),
  actor: r.actor ?? 'controller',
});

/**
 * Specs stored before secrets were references could hold an engine key in place. Such a key is replaced by
 * the reference an instance reads it from (GUARDGATE_ENGINE_API_KEY): null when the spec holds none.
 */
export function scrubbedSpec(json: string): string | null {
  if (!json.includes('"apiKey":"')) return null;
  const spec = JSON.parse(json) as { engine?: { apiKey?: unknown } };
  if (typeof spec.engine?.apiKey !== 'string') return null;
  spec.engine.apiKey = { env: 'GUARDGATE_ENGINE_API_KEY' };
  return JSON.stringify(spec);
}

/** The actor of steps the controller takes on its own. */
export const CONTROLLER = 'controller';

/** An operator's action outside a release (a manual switch), kept in the history with its actor. */
export type OperatorAction = { at: string; actor: string } & (
  | { action: 'switch'; detail: { from: Color; to: Color; forced: boolean } }
  | { action: 'credential_rotation'; detail: CredentialRotationDetail }
);

/** A credential rotation in the action history: how it ended, and the pods it asked. */
export interface CredentialRotationDetail {
  outcome: 'done' | 'failed';
  /** Pods that took the new values; those that could not be asked (done only). */
  pods?: string[];
  unverified?: string[];
  resumed?: boolean;
  seconds?: number;
  /** Why it failed (failed only): both values stay accepted. */
  reason?: string;
}

/** An operator action as recorded (the time is the store's). */
export type NewOperatorAction = OperatorAction extends infer A ? (A extends unknown ? Omit<A, 'at'> : never) : never;

/** An environment the store remembers: its spec, and when a kept one retires. */
export interface StoredEnvironment {
  spec: EnvironmentSpec;
  /** When a kept old environment is to be retired (ISO), or null. */
  retireAt: string | null;
}

/** A release as a table row. */
export interface ReleaseRow {
  id: number;
  version: string;
  spec: string;
  state: ReleaseState;
  candidate: Color;
  previous: Color;
  forced: number;
  created_at: string;
  updated_at: string;
  note: string | null;
}

/** A release from its row. */
export const toRelease = (row: ReleaseRow): Release => ({
  id: row.id,
  version: row.version,
  spec: JSON.parse(row.spec) as ReleaseSpec,
  state: row.state,
  candidate: row.candidate,
  previous: row.previous,
  forced: row.forced === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  note: row.note,
});

/** Where the controller keeps releases, environments and actions (SQLite or PostgreSQL: one contract test). */
export interface ControllerStore {
  active(): Promise<Color | null>;
  setActive(color: Color): Promise<void>;
  environment(color: Color): Promise<StoredEnvironment | null>;
  saveEnvironment(spec: EnvironmentSpec, retireAt?: string | null): Promise<void>;
  /** Open a release in `deploying`; refused (release_in_progress) while another release is open. */
  createRelease(spec: ReleaseSpec, candidate: Color, previous: Color, actor: string): Promise<Release>;
  /**
   * Move a release to a new state with its evidence, atomically with any change of the active color,
   * so that the recorded active color and the release history never disagree.
   */
  transition(id: number, to: ReleaseState, options?: TransitionOptions): Promise<Release>;
  release(id: number): Promise<Release | null>;
  openRelease(): Promise<Release | null>;
  latestRelease(): Promise<Release | null>;
  releases(limit: number): Promise<Release[]>;
  transitions(id: number): Promise<Transition[]>;
  /** Record an operator's action and, in the same transaction, the active color it leaves. */
  /** Record an action; `active` with it when the action changed the active color. */
  recordAction(action: NewOperatorAction, active?: Color): Promise<void>;
  /** The latest operator actions, newest first. */
  actions(limit: number): Promise<OperatorAction[]>;
  close(): Promise<void>;
}

/** What a transition records besides its state. */
export interface TransitionOptions {
  note?: string;
  /** Who caused it; the controller when not given. */
  actor?: string;
  evidence?: unknown;
  active?: Color;
  forced?: boolean;
}

/** The error for a release asked for while another is open. */
export const releaseInProgress = (version: string | undefined): GuardgateError =>
  new GuardgateError(
    'release_in_progress',
    `release ${version ?? ''} is still in progress; abort it or wait`.replace('  ', ' '),
  );

/** The error for a transition the state machine does not allow. */
export const invalidMove = (release: Release, to: ReleaseState): GuardgateError =>
  new GuardgateError('invalid_state', `release ${release.version} is ${release.state}; it cannot become ${to}`);

/** The controller's store in a SQLite file of the data directory. */
export class SqliteControllerStore implements ControllerStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { timeout: 5_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS environments (color TEXT PRIMARY KEY, spec TEXT NOT NULL, retire_at TEXT);
      CREATE TABLE IF NOT EXISTS releases (
        id INTEGER PRIMARY KEY AUTOINCREMENT, version TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
        candidate TEXT NOT NULL, previous TEXT NOT NULL, forced INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, note TEXT);
      -- One release at a time, enforced by the database itself.
      CREATE UNIQUE INDEX IF NOT EXISTS one_open_release ON releases ((1)) WHERE state NOT IN ('stable', 'aborted', 'rolled_back');
      CREATE TABLE IF NOT EXISTS transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, release_id INTEGER NOT NULL REFERENCES releases(id), at TEXT NOT NULL,
        from_state TEXT, to_state TEXT NOT NULL, note TEXT, evidence TEXT);
      CREATE TABLE IF NOT EXISTS actions (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
    `);
    const columns = this.db.prepare('PRAGMA table_info(transitions)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'actor')) this.db.exec('ALTER TABLE transitions ADD COLUMN actor TEXT');
    this.db.transaction(() => {
      for (const [table, key] of [
        ['releases', 'id'],
        ['environments', 'color'],
      ] as const) {
        for (const row of this.db
          .prepare(`SELECT ${key} AS key, spec FROM ${table} WHERE spec LIKE '%"apiKey":"%'`)
          .all() as Array<{ key: unknown; spec: string }>) {
          const scrubbed = scrubbedSpec(row.spec);
          if (scrubbed !== null)
            this.db.prepare(`UPDATE ${table} SET spec = ? WHERE ${key} = ?`).run(scrubbed, row.key);
        }
      }
    })();
  }

  async active(): Promise<Color | null> {
    return (
      (this.db.prepare("SELECT value FROM meta WHERE key = 'active'").get() as { value: Color } | undefined)?.value ??
      null
    );
  }

  async setActive(color: Color): Promise<void> {
    this.writeActive(color);
  }

  private writeActive(color: Color): void {
    this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('active', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(color);
  }

  async environment(color: Color): Promise<StoredEnvironment | null> {
    const row = this.db.prepare('SELECT spec, retire_at FROM environments WHERE color = ?').get(color) as
      { spec: string; retire_at: string | null } | undefined;
    return row === undefined ? null : { spec: JSON.parse(row.spec) as EnvironmentSpec, retireAt: row.retire_at };
  }

  async saveEnvironment(spec: EnvironmentSpec, retireAt: string | null = null): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO environments (color, spec, retire_at) VALUES (?, ?, ?) ON CONFLICT (color) DO UPDATE SET spec = excluded.spec, retire_at = excluded.retire_at',
      )
      .run(spec.color, JSON.stringify(spec), retireAt);
  }

  async createRelease(spec: ReleaseSpec, candidate: Color, previous: Color, actor: string): Promise<Release> {
    const now = new Date().toISOString();
    try {
      const id = this.db.transaction(() => {
        const result = this.db
          .prepare(
            'INSERT INTO releases (version, spec, state, candidate, previous, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(spec.version, JSON.stringify(spec), 'deploying', candidate, previous, now, now);
        this.db
          .prepare(
            'INSERT INTO transitions (release_id, at, from_state, to_state, note, actor) VALUES (?, ?, NULL, ?, ?, ?)',
          )
          .run(result.lastInsertRowid, now, 'deploying', `release ${spec.version} to ${candidate}`, actor);
        return Number(result.lastInsertRowid);
      })();
      return this.read(id)!;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw releaseInProgress((await this.openRelease())?.version);
      throw error;
    }
  }

  async transition(id: number, to: ReleaseState, options: TransitionOptions = {}): Promise<Release> {
    return this.db.transaction(() => {
      const current = this.read(id);
      if (current === null) throw new GuardgateError('not_found', `no release ${id}`);
      if (!canMove(current.state, to)) throw invalidMove(current, to);
      const now = new Date().toISOString();
      this.db
        .prepare(
          'UPDATE releases SET state = ?, updated_at = ?, note = COALESCE(?, note), forced = forced OR ? WHERE id = ?',
        )
        .run(to, now, options.note ?? null, options.forced ? 1 : 0, id);
      this.db
        .prepare(
          'INSERT INTO transitions (release_id, at, from_state, to_state, note, evidence, actor) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          id,
          now,
          current.state,
          to,
          options.note ?? null,
          options.evidence === undefined ? null : JSON.stringify(options.evidence),
          options.actor ?? CONTROLLER,
        );
      if (options.active !== undefined) this.writeActive(options.active);
      return this.read(id)!;
    })();
  }

  async release(id: number): Promise<Release | null> {
    return this.read(id);
  }

  private read(id: number): Release | null {
    const row = this.db.prepare('SELECT * FROM releases WHERE id = ?').get(id) as ReleaseRow | undefined;
    return row === undefined ? null : toRelease(row);
  }

  async openRelease(): Promise<Release | null> {
    const row = this.db
      .prepare(
        "SELECT * FROM releases WHERE state NOT IN ('stable', 'aborted', 'rolled_back') ORDER BY id DESC LIMIT 1",
      )
      .get() as ReleaseRow | undefined;
    return row === undefined ? null : toRelease(row);
  }

  async latestRelease(): Promise<Release | null> {
    const row = this.db.prepare('SELECT * FROM releases ORDER BY id DESC LIMIT 1').get() as ReleaseRow | undefined;
    return row === undefined ? null : toRelease(row);
  }

  async releases(limit: number): Promise<Release[]> {
    return (this.db.prepare('SELECT * FROM releases ORDER BY id DESC LIMIT ?').all(limit) as ReleaseRow[]).map(
      toRelease,
    );
  }

  async transitions(id: number): Promise<Transition[]> {
    const rows = this.db
      .prepare(
        'SELECT at, from_state, to_state, note, evidence, actor FROM transitions WHERE release_id = ? ORDER BY id',
      )
      .all(id) as TransitionRow[];
    return rows.map(toTransition);
  }

  async recordAction(action: NewOperatorAction, active?: Color): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO actions (at, actor, action, detail) VALUES (?, ?, ?, ?)')
        .run(new Date().toISOString(), action.actor, action.action, JSON.stringify(action.detail));
      if (active !== undefined) this.writeActive(active);
    })();
  }

  async actions(limit: number): Promise<OperatorAction[]> {
    const rows = this.db
      .prepare('SELECT at, actor, action, detail FROM actions ORDER BY id DESC LIMIT ?')
      .all(limit) as Array<{ at: string; actor: string; action: string; detail: string }>;
    return rows.map(toAction);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** A stored action row, as the type it was recorded as. */
export const toAction = (row: { at: string; actor: string; action: string; detail: string }): OperatorAction =>
  ({ ...row, detail: JSON.parse(row.detail) }) as OperatorAction;
