// What `guardgate up` reads of its environment for its own stores and evidence (the instances read the same
// variables through their configuration): parsed and checked once, so that a typo is an error, not a default.
import { z } from 'zod';
import { validate } from './load.js';

const schemaName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a PostgreSQL schema name (letters, digits, _)');

const upStoresSchema = z.object({
  /** What of users' text the audit (and gate evidence) keeps. */
  GUARDGATE_AUDIT_TEXT: z.enum(['none', 'full', 'redacted']).default('none'),
  /** PostgreSQL for the controller's state and the audit log; unset: SQLite in the data directory. */
  DATABASE_URL: z.string().min(1).optional(),
  GUARDGATE_CONTROLLER_SCHEMA: schemaName.default('public'),
  GUARDGATE_AUDIT_SCHEMA: schemaName.default('public'),
  /** What the controller's rows are keyed by in a shared PostgreSQL; unset: derived from where it deploys. */
  GUARDGATE_TARGET: z.string().min(1).max(512).optional(),
});

/** `up`'s store settings. */
export interface UpStores {
  auditText: 'none' | 'full' | 'redacted';
  databaseUrl: string | undefined;
  controllerSchema: string;
  auditSchema: string;
  /** The controller's target as named by GUARDGATE_TARGET, if it is. */
  target: string | undefined;
}

/** The store settings of `up`, from its environment; a bad value is a ConfigError naming the variable. */
export function upStoresFrom(env: NodeJS.ProcessEnv): UpStores {
  const parsed = validate(
    upStoresSchema,
    {
      GUARDGATE_AUDIT_TEXT: env.GUARDGATE_AUDIT_TEXT || undefined,
      DATABASE_URL: env.DATABASE_URL || undefined,
      GUARDGATE_CONTROLLER_SCHEMA: env.GUARDGATE_CONTROLLER_SCHEMA || undefined,
      GUARDGATE_AUDIT_SCHEMA: env.GUARDGATE_AUDIT_SCHEMA || undefined,
      GUARDGATE_TARGET: env.GUARDGATE_TARGET || undefined,
    },
    'the environment',
  );
  return {
    auditText: parsed.GUARDGATE_AUDIT_TEXT,
    databaseUrl: parsed.DATABASE_URL,
    controllerSchema: parsed.GUARDGATE_CONTROLLER_SCHEMA,
    auditSchema: parsed.GUARDGATE_AUDIT_SCHEMA,
    target: parsed.GUARDGATE_TARGET,
  };
}
