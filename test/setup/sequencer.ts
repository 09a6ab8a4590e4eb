// The order test files start in: longest first, so that the workers finish together. A long file started
// last is the run's tail: in a quiet run of 705 s the load-gate noise test (159 s) started at 545 s. Vitest
// orders by the durations it cached from the last run on this machine, but a clean clone (CI) has none and
// falls back on file size, which says little. So the files known to be long (20 s or more in a quiet run of
// `npx vitest run --reporter=json`) go first, in this order; the rest follow in vitest's own order.
// (The load gate under contention runs alone after them: scripts/test.sh.)
import { existsSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const LONGEST_FIRST = [
  'test/release/kubernetes-chaos.test.ts',
  'test/release/up-kubernetes.test.ts',
  'test/release/load-gate.test.ts',
  'test/release/crash-safety.test.ts',
  'test/cli/demo.test.ts',
  'test/release/controller.test.ts',
  'test/release/evidence.test.ts',
  'test/release/kubernetes-driver.test.ts',
  'test/release/fleet.test.ts',
  'test/web/dashboard-live.test.ts',
  'test/release/kubernetes-restart.test.ts',
  'test/release/canary.test.ts',
  'test/release/local-driver.test.ts',
  'test/release/kubernetes-crash.test.ts',
];

const gone = LONGEST_FIRST.filter((name) => !existsSync(new URL(`../../${name}`, import.meta.url)));
if (gone.length > 0) throw new Error(`test/setup/sequencer.ts lists files that do not exist: ${gone.join(', ')}`);

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = LONGEST_FIRST.findIndex((name) => file.moduleId.endsWith(`/${name}`));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    const sorted = await super.sort(files);
    return sorted
      .map((file, order) => ({ file, order, rank: rank(file) }))
      .sort((a, b) => a.rank - b.rank || a.order - b.order)
      .map(({ file }) => file);
  }
}
