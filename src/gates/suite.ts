// The audit suite: cases of text, target, expected safety and category, with tags. A default suite ships
// with the product (suites/default.yaml) and covers the release checklist.
import { realpathSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readYamlFile, validate } from '../config/load.js';
import { CATEGORIES, SAFETY_TIERS } from '../moderation/taxonomy.js';

const caseSchema = z
  .object({
    name: z.string().min(1),
    prompt: z.string().min(1),
    response: z.string().min(1).optional(),
    /** One tier, or any of several ("Controversial or Unsafe" is written [Controversial, Unsafe]). */
    expect: z.object({
      safety: z.union([z.enum(SAFETY_TIERS), z.array(z.enum(SAFETY_TIERS)).min(1)]),
      category: z.enum(CATEGORIES).optional(),
      refusal: z.boolean().optional(),
    }),
    tags: z.array(z.string()).default([]),
  })
  .strict();

/** An audit suite: a name and its cases. */
export const suiteSchema = z.object({ name: z.string().min(1), cases: z.array(caseSchema).min(1) }).strict();

/** A parsed audit suite. */
export type AuditSuite = z.output<typeof suiteSchema>;
/** One case of an audit suite. */
export type AuditCase = AuditSuite['cases'][number];

/** The suite that ships with the product. */
export const DEFAULT_SUITE_PATH = fileURLToPath(new URL('../../suites/default.yaml', import.meta.url));
/** The suites that ship with the product: the only files a release spec sent over HTTP may name. */
export const SHIPPED_SUITES_DIR = dirname(DEFAULT_SUITE_PATH);

/** Where a spec names a suite (or a replay corpus): a file on the machine that runs the gates, or the suite itself. */
export type SuiteRef = string | AuditSuite;

/** A suite from its file (or as given inline); a bad file is a ConfigError. */
export function loadSuite(ref: SuiteRef = DEFAULT_SUITE_PATH): AuditSuite {
  return typeof ref === 'string' ? validate(suiteSchema, readYamlFile(ref), ref) : ref;
}

/**
 * A suite file named by a remote caller: only from the shipped suites folder, by its real path (no `..`, no link
 * out). One answer whether the file exists, is a folder or is elsewhere: the reply tells nothing about the server's
 * files, and none of them is read. Returns why it is refused, or null.
 */
export function remoteSuiteRefused(path: string): string | null {
  const refusal = `a suite named over HTTP must be one of the shipped suites (${SHIPPED_SUITES_DIR}); send your own inline (guardgate release does)`;
  const inside = (dir: string, file: string) => {
    const rel = relative(dir, file);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  };
  if (!isAbsolute(path) || !inside(SHIPPED_SUITES_DIR, resolve(path))) return refusal;
  try {
    return inside(realpathSync(SHIPPED_SUITES_DIR), realpathSync(path)) ? null : refusal;
  } catch {
    return refusal;
  }
}
