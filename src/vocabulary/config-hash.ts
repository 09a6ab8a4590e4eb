// The one configuration hash: what shapes an environment's verdicts (its version, engine and policy), with
// secrets reduced to whether they are set. The dashboard, `/version` and history show the same 16 hex digits
// for the same environment, whoever computes them (the controller from the spec, the instance from its config).
import { createHash } from 'node:crypto';

/** What the configuration hash covers: what shapes an environment's verdicts. */
export interface HashedConfiguration {
  version: string;
  engine: object;
  policy: string;
}

/** Objects with their keys in order and undefined values left out: the same configuration, the same text. */
const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([k, v]) => [k, canonical(v)]),
        )
      : value;

/** 16 hex digits of SHA-256 over the canonical JSON of version, engine (an API key only as "set") and policy. Pure. */
export function configHash({ version, engine, policy }: HashedConfiguration): string {
  const withoutSecret = (engine as { apiKey?: unknown }).apiKey === undefined ? engine : { ...engine, apiKey: 'set' };
  return createHash('sha256')
    .update(JSON.stringify(canonical({ version, engine: withoutSecret, policy })))
    .digest('hex')
    .slice(0, 16);
}
