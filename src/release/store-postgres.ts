// The controller's durable state in PostgreSQL (DATABASE_URL), for controllers that share it. Every row belongs
// to one target (a cluster, namespace and app, or a machine and data directory): controllers of different
// targets that share a database and schema never see each other's state. Rows written before targets existed
// (target '') are claimed by the first target that starts, and only when no other target has rows yet.
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
  toAction,
  toTransition,
  type ControllerStore,
  type NewOperatorAction,
  type OperatorAction,
  type Release,
  type ReleaseRow,
  type StoredEnvironment,
  type Transition,
  type TransitionOptions,
  type TransitionRow,
} from './store.js';

/** The controller's store in PostgreSQL (a schema of its own), scoped to one target. */
export class PostgresControllerStore implements ControllerStore {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly schemaName: string;

  /**
   * @param target what this controller deploys to (`kubernetes:<server>/<namespace>/<app>`, `local:<host>:<dir>`):
   * its rows are keyed by it.
   */
  constructor(
    connectionString: string,
    schema = 'public',
    private readonly target = 'default',
  ) {
    if (target === '') throw new Error('a controller store target cannot be empty');
    // Every wait has a deadline: a database that stops answering (not refusing) fails a query in 10 s.
    this.pool = new pg.Pool({ connectionString, max: 4, connectionTimeoutMillis: 5_000, query_timeout: 10_000 });
    this.pool.on('error', () => undefined);
    this.schema = pg.escapeIdentifier(schema);
    this.schemaName = schema;
  }

  private t(name: string): string {
    return `${this.schema}.${name}`;
  }

  /**
   * Create the schema and tables once (tried again after a failure), in one transaction under an advisory lock so
   * that controllers starting together do not race: tables keyed by target, one open release per target, and
   * rows from before targets claimed when this is the only target.
   */
  private readonly migrate = onceUntilFailure(async () => {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`guardgate-migrate:${this.schemaName}`]);
      await client.query(
        `CREATE SCHEMA IF NOT EXISTS ${this.schema};
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_meta')} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_environments')} (color TEXT PRIMARY KEY, spec TEXT NOT NULL, retire_at TEXT);
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_releases')} (
           id SERIAL PRIMARY KEY, version TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL, candidate TEXT NOT NULL,
           previous TEXT NOT NULL, forced INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, note TEXT);
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_transitions')} (
           id SERIAL PRIMARY KEY, release_id INTEGER NOT NULL REFERENCES ${this.t('guardgate_releases')}(id), at TEXT NOT NULL,
           from_state TEXT, to_state TEXT NOT NULL, note TEXT, evidence TEXT);
         ALTER TABLE ${this.t('guardgate_transitions')} ADD COLUMN IF NOT EXISTS actor TEXT;
         CREATE TABLE IF NOT EXISTS ${this.t('guardgate_actions')} (id SERIAL PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
         ALTER TABLE ${this.t('guardgate_meta')} ADD COLUMN IF NOT EXISTS target TEXT NOT NULL DEFAULT '';
         ALTER TABLE ${this.t('guardgate_environments')} ADD COLUMN IF NOT EXISTS target TEXT NOT NULL DEFAULT '';
         ALTER TABLE ${this.t('guardgate_releases')} ADD COLUMN IF NOT EXISTS target TEXT NOT NULL DEFAULT '';
         ALTER TABLE ${this.t('guardgate_actions')} ADD COLUMN IF NOT EXISTS target TEXT NOT NULL DEFAULT '';
         DROP INDEX IF EXISTS ${this.schema}.guardgate_one_open_release;
         CREATE UNIQUE INDEX IF NOT EXISTS guardgate_one_open_release_per_target ON ${this.t('guardgate_releases')} (target) WHERE state NOT IN ('stable', 'aborted', 'rolled_back');`,
      );
      // Keys by target: (target, key) and (target, color) instead of key and color alone.
      for (const [table, column] of [
        ['guardgate_meta', 'key'],
        ['guardgate_environments', 'color'],
      ] as const) {
        const { rows } = await client.query<{ columns: string[] }>(
          `SELECT array_agg(a.attname::text ORDER BY a.attname) AS columns FROM pg_constraint c
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
             WHERE c.conrelid = $1::regclass AND c.contype = 'p' GROUP BY c.oid`,
          [`${this.schemaName}.${table}`],
        );
        if (rows[0]?.columns.includes('target')) continue;
        await client.query(`ALTER TABLE ${this.t(table)} DROP CONSTRAINT IF EXISTS ${table}_pkey`);
        await client.query(`ALTER TABLE ${this.t(table)} ADD PRIMARY KEY (target, ${column})`);
      }
      // Rows from before targets: this target's when no other target has written anything yet.
      const { rows: others } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM (SELECT target FROM ${this.t('guardgate_meta')} UNION SELECT target FROM ${this.t('guardgate_environments')}
           UNION SELECT target FROM ${this.t('guardgate_releases')}) t WHERE target <> '' AND target <> $1`,
        [this.target],
      );
      if (Number(others[0]!.n) === 0)
        for (const table of ['guardgate_meta', 'guardgate_environments', 'guardgate_releases', 'guardgate_actions'])
          await client.query(`UPDATE ${this.t(table)} SET target = $1 WHERE target = ''`, [this.target]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    for (const [table, key] of [
      ['guardgate_releases', 'id'],
      ['guardgate_environments', 'color'],
    ] as const) {
      const { rows } = await this.pool.query<{ key: unknown; spec: string }>(
        `SELECT ${key} AS key, spec FROM ${this.t(table)} WHERE target = $1 AND spec LIKE '%"apiKey":"%'`,
        [this.target],
      );
      for (const row of rows) {
        const scrubbed = scrubbedSpec(row.spec);
        if (scrubbed !== null)
          await this.pool.query(`UPDATE ${this.t(table)} SET spec = $1 WHERE target = $2 AND ${key} = $3`, [
            scrubbed,
            this.target,
            row.key,
          ]);
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
      (
        await this.query<{ value: Color }>(
          `SELECT value FROM ${this.t('guardgate_meta')} WHERE target = $1 AND key = 'active'`,
          [this.target],
        )
      )[0]?.value ?? null
    );
  }

  async setActive(color: Color, client?: pg.PoolClient): Promise<void> {
    await this.query(
      `INSERT INTO ${this.t('guardgate_meta')} (target, key, value) VALUES ($2, 'active', $1) ON CONFLICT (target, key) DO UPDATE SET value = excluded.value`,
      [color, this.target],
      client,
    );
  }

  async environment(color: Color): Promise<StoredEnvironment | null> {
    const row = (
      await this.query<{ spec: string; retire_at: string | null }>(
        `SELECT spec, retire_at FROM ${this.t('guardgate_environments')} WHERE target = $2 AND color = $1`,
        [color, this.target],
      )
    )[0];
    return row === undefined ? null : { spec: JSON.parse(row.spec) as EnvironmentSpec, retireAt: row.retire_at };
  }

  async saveEnvironment(spec: EnvironmentSpec, retireAt: string | null = null): Promise<void> {
    await this.query(
      `INSERT INTO ${this.t('guardgate_environments')} (target, color, spec, retire_at) VALUES ($4, $1, $2, $3) ON CONFLICT (target, color) DO UPDATE SET spec = excluded.spec, retire_at = excluded.retire_at`,
      [spec.color, JSON.stringify(spec), retireAt, this.target],
    );
  }

  async createRelease(spec: ReleaseSpec, candidate: Color, previous: Color, actor: string): Promise<Release> {
    const now = new Date().toISOString();
    try {
      return await this.inTransaction(async (client) => {
        const [row] = await this.query<ReleaseRow>(
          `INSERT INTO ${this.t('guardgate_releases')} (target, version, spec, state, candidate, previous, created_at, updated_at) VALUES ($6, $1, $2, 'deploying', $3, $4, $5, $5) RETURNING *`,
          [spec.version, JSON.stringify(spec), candidate, previous, now, this.target],
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
        `SELECT * FROM ${this.t('guardgate_releases')} WHERE id = $1 AND target = $2 FOR UPDATE`,
        [id, this.target],
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
    const row = (
      await this.query<ReleaseRow>(`SELECT * FROM ${this.t('guardgate_releases')} WHERE id = $1 AND target = $2`, [
        id,
        this.target,
      ])
    )[0];
    return row === undefined ? null : toRelease(row);
  }

  async openRelease(): Promise<Release | null> {
    const row = (
      await this.query<ReleaseRow>(
        `SELECT * FROM ${this.t('guardgate_releases')} WHERE target = $1 AND state NOT IN ('stable', 'aborted', 'rolled_back') ORDER BY id DESC LIMIT 1`,
        [this.target],
      )
    )[0];
    return row === undefined ? null : toRelease(row);
  }

  async latestRelease(): Promise<Release | null> {
    return (await this.releases(1))[0] ?? null;
  }

  async releases(limit: number): Promise<Release[]> {
    return (
      await this.query<ReleaseRow>(
        `SELECT * FROM ${this.t('guardgate_releases')} WHERE target = $2 ORDER BY id DESC LIMIT $1`,
        [limit, this.target],
      )
    ).map(toRelease);
  }

  async transitions(id: number): Promise<Transition[]> {
    const rows = await this.query<TransitionRow>(
      `SELECT t.at, t.from_state, t.to_state, t.note, t.evidence, t.actor FROM ${this.t('guardgate_transitions')} t
         JOIN ${this.t('guardgate_releases')} r ON r.id = t.release_id WHERE t.release_id = $1 AND r.target = $2 ORDER BY t.id`,
      [id, this.target],
    );
    return rows.map(toTransition);
  }

  async recordAction(action: NewOperatorAction, active?: Color): Promise<void> {
    await this.inTransaction(async (client) => {
      await this.query(
        `INSERT INTO ${this.t('guardgate_actions')} (target, at, actor, action, detail) VALUES ($5, $1, $2, $3, $4)`,
        [new Date().toISOString(), action.actor, action.action, JSON.stringify(action.detail), this.target],
        client,
      );
      if (active !== undefined) await this.setActive(active, client);
    });
  }

  async actions(limit: number): Promise<OperatorAction[]> {
    const rows = await this.query<{ at: string; actor: string; action: string; detail: string }>(
      `SELECT at, actor, action, detail FROM ${this.t('guardgate_actions')} WHERE target = $2 ORDER BY id DESC LIMIT $1`,
      [limit, this.target],
    );
    return rows.map(toAction);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
