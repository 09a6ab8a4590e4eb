// The shipped release specs are valid: what the README tells users to run parses as it is.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadReleaseSpec } from '../../../src/release/spec.js';
import { loadFleet } from '../../../src/fleet/spec.js';
import { knownModel } from '../../../src/models/catalog.js';

const dir = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** Fleet files (a fleet's targets and waves) are not release specs. */
const FLEETS = ['fleet.yaml'];

describe('shipped release specs', () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml') && !FLEETS.includes(f)))('%s parses', (file) => {
    const spec = loadReleaseSpec(`${dir}${file}`);
    expect(spec.version).toMatch(/\S/);
    if (spec.modelServer) expect(spec.engine.kind).toBe('openai');
    // A model the example names is one `guardgate model pull NAME` can fetch, as its comment says.
    if (spec.engine.kind === 'llamacpp') expect(knownModel(spec.engine.model), spec.engine.model).toBeDefined();
  });
});

describe('shipped fleet files', () => {
  it.each(FLEETS)('%s parses, every target in one wave', (file) => {
    const fleet = loadFleet(`${dir}${file}`);
    expect(fleet.waves.flat().sort()).toEqual(Object.keys(fleet.targets).sort());
    expect(fleet.record).toBe(`${dir}fleet-history.jsonl`);
  });
});
