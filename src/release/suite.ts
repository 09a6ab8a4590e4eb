// The audit suite: cases of text, target, expected safety and category, with tags. A default suite ships
// with the product (suites/default.yaml) and covers the release checklist.
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

export const suiteSchema = z.object({ name: z.string().min(1), cases: z.array(caseSchema).min(1) }).strict();

export type AuditSuite = z.output<typeof suiteSchema>;
export type AuditCase = AuditSuite['cases'][number];

export const DEFAULT_SUITE_PATH = fileURLToPath(new URL('../../suites/default.yaml', import.meta.url));

export function loadSuite(path: string = DEFAULT_SUITE_PATH): AuditSuite {
  return validate(suiteSchema, readYamlFile(path), path);
}
