// `npm run demo` as a newcomer runs it: it ends in every outcome with the request count and an exit code,
// and removes its temporary data directory.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dataDirOf = (out: string): string => /data directory (\S+), removed at the end/.exec(out)![1]!;

describe('guardgate demo', () => {
  it('the shipped release under live load: every gate passes, a switch and a rollback, zero failed requests, exit 0', async () => {
    const demo = runCli(['demo']);
    const code = await demo.exited;
    const out = demo.stdout();
    expect(code, `${out}\n${demo.stderr()}`).toBe(0);
    expect(out).toMatch(/release #1 lexicon-v2 → green: stable/);
    expect(out).toMatch(/release #1 lexicon-v2 → green: rolled_back/);
    expect(out).toMatch(/requests: [1-9]\d*, failed requests: 0\n/);
    expect(existsSync(dataDirOf(out))).toBe(false);
  });

  it('a release that fails a gate: the demo aborts it, prints the count and exits 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-demo-spec-'));
    writeFileSync(
      join(dir, 'impossible.yaml'),
      'name: impossible\ncases:\n  - { name: a greeting is unsafe, prompt: "Hello there", expect: { safety: Unsafe } }\n',
    );
    writeFileSync(
      join(dir, 'release.yaml'),
      'version: v-impossible\nabortTeardownDelay: 10m\ngates:\n  functional: { suite: impossible.yaml }\n',
    );
    const demo = runCli(['demo', '--spec', join(dir, 'release.yaml')]);
    const code = await demo.exited;
    const out = demo.stdout();
    expect(code, `${out}\n${demo.stderr()}`).toBe(3);
    expect(out).toMatch(/v-impossible → green: blocked/);
    expect(out).toMatch(/v-impossible → green: aborted/);
    expect(out).toMatch(/requests: \d+, failed requests: 0\n/);
    expect(existsSync(dataDirOf(out))).toBe(false);
  });
});
