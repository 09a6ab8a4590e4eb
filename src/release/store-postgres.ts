// The controller's durable state in PostgreSQL (DATABASE_URL), for controllers that share it.
import pg from 'pg';
import { onceUntilFailure } from '../shared/once.js';
import { GuardgateError } from '../vocabulary/errors.js';
import type { Color } from '../vocabulary/colors.js';
import type { EnvironmentSpec } from '../drivers/driver.js';
import type { ReleaseSpec } from './spec.js';
import { canMove, type ReleaseState } from './states.js';
import {
  CONTROLLER,
  invalidMove,
  releaseInProgress,
  scrubbedSpec,
  toRelease,
  toTransition,
  type ControllerStore,
  type OperatorAction,
  type Release,
  type ReleaseRow,
  type StoredEnvironment,
  type Transition,
  type TransitionOptions,
  type TransitionRow,
} from './store.js';

/** The controller's store in PostgreSQL (a schema of its own). */
export class PostgresControllerStore implements ControllerStore {
  private readonly pool: pg.Pool;
  private readonly schema: string;

  constructor(connectionString: string, schema = 'public') {
    // Every wait has a deadline: a database that stops answering (not refusing) fails a query in 10 s.
    this.pool = new pg.Pool({ connectionString, max: 4, connectionTimeoutMillis: 5_000, query_timeout: 10_000 });
    this.pool.on('error', () => undefined);
    this.schema = pg.escapeIdentifier(schema);
  }

  private t(name: string): string {
    return `${this.schema}.${name}`;
  }

  /** Create the schema and tables once; tried again after a failure. */
  private readonly migrate = onceUntilFailure(async () => {
    await this.pool.query(
      `CREATE SCHEMA IF NOT EXISTS ${this.schema};
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_meta')} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_environments')} (color TEXT PRIMARY KEY, spec TEXT NOT NULL, retire_at TEXT);
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_releases')} (
           id SERIAL PRIMARY KEY, version TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL, candidate TEXT NOT NULL,
           previous TEXT NOT NULL, forced INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, note TEXT);
         CREATE UNIQUE INDEX IF NOT EXISTS guardgate_one_open_release ON ${this.t('guardgate_releases')} ((true)) WHERE state NOT IN ('stable', 'aborted', 'rolled_back');
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_transitions')} (
           id SERIAL PRIMARY KEY, release_id INTEGER NOT NULL REFERENCES ${this.t('guardgate_releases')}(id), at TEXT NOT NULL,
           from_state TEXT, to_state TEXT NOT NULL, note TEXT, evidence TEXT);
         ALTER TABLE ${this.t('guardgate_transitions')} ADD COLUMN IF NOT EXISTS actor TEXT;
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_actions')} (id SERIAL PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);`,
    );
    for (const [table, key] of [
      ['guardgate_releases', 'id'],
      ['guardgate_environments', 'color'],
    ] as const) {
      const { rows } = await this.pool.query<{ key: unknown; spec: string }>(
        `SELECT ${key} AS key, spec FROM ${this.t(table)} WHERE spec LIKE '%"apiKey":"%'`,
      );
      for (const row of rows) {
        const scrubbed = scrubbedSpec(row.spec);
        if (scrubbed !== null)
          await this.pool.query(`UPDATE ${this.t(table)} SET spec = $1 WHERE ${key} = $2`, [scrubbed, row.key]);
      }
    }
  });

  private async query<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    client: pg.Pool | pg.PoolClient = this.pool,
  ): Promise<R[]> {
    await this.migrate();
    return (await client.query<R>(sql, params)).rows;
  }

  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.migrate();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async active(): Promise<Color | null> {
    return (
      (await this.query<{ value: Color }>(`SELECT value FROM ${this.t('guardgate_meta')} WHERE key = 'active'`))[0]
        ?.value ?? null
    );
  }

  async setActive(color: Color, client?: pg.PoolClient): Promise<void> {
    await this.query(
      `INSERT INTO ${this.t('guardgate_meta')} (key, value) VALUES ('active', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [color],
      client,
    );
  }

  async environment(color: Color): Promise<StoredEnvironment | null> {
    const row = (
      await this.query<{ spec: string; retire_at: string | null }>(
        `SELECT spec, retire_at FROM ${this.t('guardgate_environments')} WHERE color = $1`,
        [color],
      )
    )[0];
    return row === undefined ? null : { spec: JSON.parse(row.spec) as EnvironmentSpec, retireAt: row.retire_at };
  }

  async saveEnvironment(spec: EnvironmentSpec, retireAt: string | null = null): Promise<void> {
    await this.query(
      `INSERT INTO ${this.t('guardgate_environments')} (color, spec, retire_at) VALUES ($1, $2, $3) ON CONFLICT (color) DO UPDATE SET spec = excluded.spec, retire_at = excluded.retire_at`,
      [spec.color, JSON.stringify(spec), retireAt],
    );
  }

  async createRelease(spec: ReleaseSpec, candidate: Color, previous: Color, actor: string): Promise<Release> {
    const now = new Date().toISOString();
    try {
      return await this.inTransaction(async (client) => {
        const [row] = await this.query<ReleaseRow>(
          `INSERT INTO ${this.t('guardgate_releases')} (version, spec, state, candidate, previous, created_at, updated_at) VALUES ($1, $2, 'deploying', $3, $4, $5, $5) RETURNING *`,
          [spec.version, JSON.stringify(spec), candidate, previous, now],
          client,
        );
        await this.query(
          `INSERT INTO ${this.t('guardgate_transitions')} (release_id, at, from_state, to_state, note, actor) VALUES ($1, $2, NULL, 'deploying', $3, $4)`,
          [row!.id, now, `release ${spec.version} to ${candidate}`, actor],
          client,
        );
        return toRelease(row!);
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw releaseInProgress((await this.openRelease())?.version);
      throw error;
    }
  }

  async transition(id: number, to: ReleaseState, options: TransitionOptions = {}): Promise<Release> {
    return this.inTransaction(async (client) => {
      const [row] = await this.query<ReleaseRow>(
        `SELECT * FROM ${this.t('guardgate_releases')} WHERE id = $1 FOR UPDATE`,
        [id],
        client,
      );
      if (row === undefined) throw new GuardgateError('not_found', `no release ${id}`);
      const current = toRelease(row);
      if (!canMove(current.state, to)) throw invalidMove(current, to);
      const now = new Date().toISOString();
      const [updated] = await this.query<ReleaseRow>(
        `UPDATE ${this.t('guardgate_releases')} SET state = $1, updated_at = $2, note = COALESCE($3, note), forced = GREATEST(forced, $4) WHERE id = $5 RETURNING *`,
        [to, now, options.note ?? null, options.forced ? 1 : 0, id],
        client,
      );
      await this.query(
        `INSERT INTO ${this.t('guardgate_transitions')} (release_id, at, from_state, to_state, note, evidence, actor) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          id,
          now,
          current.state,
          to,
          options.note ?? null,
          options.evidence === undefined ? null : JSON.stringify(options.evidence),
          options.actor ?? CONTROLLER,
        ],
        client,
      );
      if (options.active !== undefined) await this.setActive(options.active, client);
      return toRelease(updated!);
    });
  }

  async release(id: number): Promise<Release | null> {
    const row = (await this.query<ReleaseRow>(`SELECT * FROM ${this.t('guardgate_releases')} WHERE id = $1`, [id]))[0];
    return row === undefined ? null : toRelease(row);
  }

  async openRelease(): Promise<Release | null> {
    const row = (
      await this.query<ReleaseRow>(
        `SELECT * FROM ${this.t('guardgate_releases')} WHERE state NOT IN ('stable', 'aborted', 'rolled_back') ORDER BY id DESC LIMIT 1`,
      )
    )[0];
    return row === undefined ? null : toRelease(row);
  }

  async latestRelease(): Promise<Release | null> {
    return (await this.releases(1))[0] ?? null;
  }

  async releases(limit: number): Promise<Release[]> {
    return (
      await this.query<ReleaseRow>(`SELECT * FROM ${this.t('guardgate_releases')} ORDER BY id DESC LIMIT $1`, [limit])
    ).map(toRelease);
  }

  async transitions(id: number): Promise<Transition[]> {
    const rows = await this.query<TransitionRow>(
      `SELECT at, from_state, to_state, note, evidence, actor FROM ${this.t('guardgate_transitions')} WHERE release_id = $1 ORDER BY id`,
      [id],
    );
    return rows.map(toTransition);
  }

  async recordAction(action: Omit<OperatorAction, 'at'>, active: Color): Promise<void> {
    await this.inTransaction(async (client) => {
      await this.query(
        `INSERT INTO ${this.t('guardgate_actions')} (at, actor, action, detail) VALUES ($1, $2, $3, $4)`,
        [new Date().toISOString(), action.actor, action.action, JSON.stringify(action.detail)],
        client,
      );
      await this.setActive(active, client);
    });
  }

  async actions(limit: number): Promise<OperatorAction[]> {
    const rows = await this.query<{ at: string; actor: string; action: 'switch'; detail: string }>(
      `SELECT at, actor, action, detail FROM ${this.t('guardgate_actions')} ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as OperatorAction['detail'] }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
