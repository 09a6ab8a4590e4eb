// The suite's own promise (ARCHITECTURE 13): a test file that leaves a process running fails, names it, and
// the process is killed. Checked by running vitest on a file that leaks one, with the project's setup.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OWNER_VARIABLE } from '../helpers/processes.js';
import { until } from '../helpers/router.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs vitest with the project's setup on `dir`'s vitest.config.mjs. */
const runVitest = (dir: string) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(dir, 'vitest.config.mjs')],
      { cwd: ROOT, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), out: `${stdout}${stderr}` }),
    );
  });

const configFor = (dir: string, file: string) =>
  `export default { test: { root: ${JSON.stringify(dir)}, include: [${JSON.stringify(file)}], globalSetup: [${JSON.stringify(join(ROOT, 'test/setup/global.ts'))}], setupFiles: [${JSON.stringify(join(ROOT, 'test/setup/processes.ts'))}] } };\n`;

const running = (marker: string): boolean =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });

describe('the process check of the test suite', () => {
  it('fails a file that leaves a process running, names the process, and kills it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-leak-'));
    const marker = `leaked-${Date.now()}`;
    writeFileSync(
      join(dir, 'leak.test.ts'),
      `import { spawn } from 'node:child_process';\nimport { it } from 'vitest';\nit('starts a process and forgets it', () => { spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '${marker}'], { stdio: 'ignore' }).unref(); });\n`,
    );
    writeFileSync(join(dir, 'vitest.config.mjs'), configFor(dir, 'leak.test.ts'));
    const result = await runVitest(dir);
    expect(result.code, result.out).not.toBe(0);
    expect(result.out).toMatch(
      new RegExp(
        `this test file left 1 process\\(es\\) running after its cleanup \\(now killed\\):\\s+pid \\d+: \\S+ -e setInterval\\(\\(\\) => \\{\\}, 1000\\) ${marker}`,
      ),
    );
    expect(running(marker)).toBe(false);
  });

  it('a new run ends what an earlier run left when it was killed (its vitest process gone), and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-orphan-'));
    const marker = `orphan-${Date.now()}`;
    // A marker naming a run whose vitest process no longer exists: a short-lived process's pid, once it has exited.
    const gone = spawn(process.execPath, ['-e', '0']);
    await once(gone, 'exit');
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], {
      stdio: 'ignore',
      detached: true,
      env: { ...process.env, [OWNER_VARIABLE]: `run-${gone.pid}-dead/file` },
    });
    orphan.unref();
    await until(() => running(marker), 10_000, 'the orphan started');
    writeFileSync(join(dir, 'ok.test.ts'), "import { it } from 'vitest';\nit('passes', () => {});\n");
    writeFileSync(join(dir, 'vitest.config.mjs'), configFor(dir, 'ok.test.ts'));
    const result = await runVitest(dir);
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(
      new RegExp(
        `ended 1 process\\(es\\) left by an earlier test run that was killed:\\s+pid ${orphan.pid}: .*${marker}`,
      ),
    );
    await until(() => !running(marker), 10_000, 'the orphan ended');
  });
});
