// The fleet file: the targets one release runs over (each a running `guardgate up`, by its admin API), the waves
// it goes in, and where its record is kept.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { readYamlFile, validate } from '../config/load.js';

const targetSchema = z
  .object({
    /** The target's admin API (its `up --admin-port`), https or http. */
    adminUrl: z.url({ protocol: /^https?$/ }),
    /** A file holding its admin token (mode 0600); or the token in the variable `tokenEnv`. */
    tokenFile: z.string().min(1).optional(),
    tokenEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional(),
  })
  .strict()
  .refine((t) => (t.tokenFile === undefined) !== (t.tokenEnv === undefined), 'name exactly one of tokenFile, tokenEnv');

/** A fleet: named targets, waves of them, and the record file. */
export const fleetSchema = z
  .object({
    targets: z.record(
      z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a target name: lower-case letters, digits, -'),
      targetSchema,
    ),
    /** The targets of each wave, in order; a wave starts once every target of the one before is stable. Default: one wave per target. */
    waves: z.array(z.array(z.string()).min(1)).min(1).optional(),
    /** How long one target's release may take before the fleet gives up on it (and rolls back what switched). */
    targetTimeoutSeconds: z.coerce.number().int().min(10).max(86_400).default(3_600),
    /** The fleet's record: one JSON line per event, across every target. */
    record: z.string().min(1).default('.guardgate/fleet-history.jsonl'),
  })
  .strict()
  .transform((fleet, context) => {
    const waves = fleet.waves ?? Object.keys(fleet.targets).map((name) => [name]);
    const named = waves.flat();
    for (const name of named)
      if (!(name in fleet.targets)) context.addIssue({ code: 'custom', path: ['waves'], message: `no target ${name}` });
    if (new Set(named).size !== named.length)
      context.addIssue({ code: 'custom', path: ['waves'], message: 'a target is in more than one wave' });
    for (const name of Object.keys(fleet.targets))
      if (!named.includes(name))
        context.addIssue({ code: 'custom', path: ['waves'], message: `target ${name} is in no wave` });
    return { ...fleet, waves };
  });

/** A parsed fleet file. */
export type Fleet = z.output<typeof fleetSchema>;

/** Read and check a fleet file; its relative paths (token files, the record) are read from its own directory. */
export function loadFleet(path: string): Fleet {
  const fleet = validate(fleetSchema, readYamlFile(path), path);
  const near = (file: string) => (isAbsolute(file) ? file : resolve(dirname(path), file));
  return {
    ...fleet,
    record: near(fleet.record),
    targets: Object.fromEntries(
      Object.entries(fleet.targets).map(([name, t]) => [
        name,
        t.tokenFile === undefined ? t : { ...t, tokenFile: near(t.tokenFile) },
      ]),
    ),
  };
}
