// Shared edge helpers: read a YAML config file and turn schema failures into one clear message.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { z } from 'zod';

/** A configuration that cannot be used: exit code 2, with what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The YAML library, loaded on the first file read: most commands, and an instance started without a
 * configuration file (every deploy's), never read one, and loading it costs a tenth of an instance's start.
 */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

/** A YAML file's value; unreadable or invalid YAML is a ConfigError. */
export function readYamlFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    return yaml().parse(text) ?? {};
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
}

/** Validate with a schema; every problem is listed as `path: message`. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ConfigError(`invalid configuration (${source}):\n${problems.join('\n')}`);
}

/** Deep-merge plain objects; later sources win, `undefined` never overwrites. */
/** `{ env: NAME }` or `{ file: PATH }`: replaced whole by a later source, never merged with another kind into both. */
const isSecretReference = (value: object): boolean => {
  const entries = Object.entries(value);
  return (
    entries.length === 1 &&
    (entries[0]![0] === 'env' || entries[0]![0] === 'file') &&
    typeof entries[0]![1] === 'string'
  );
};

export function merge(...sources: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const source of sources) {
    if (source === null || typeof source !== 'object') continue;
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      const current = out[key];
      out[key] =
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        current !== null &&
        typeof current === 'object' &&
        !isSecretReference(value) &&
        !isSecretReference(current)
          ? merge(current, value)
          : value;
    }
  }
  return out;
}
