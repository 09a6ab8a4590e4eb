// The suite's own promise (ARCHITECTURE 13): a test file that leaves a process running fails, names it, and
// the process is killed. Checked by running vitest on a file that leaks one, with the project's setup.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the process check of the test suite', () => {
  it('fails a file that leaves a process running, names the process, and kills it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-leak-'));
    const marker = `leaked-${Date.now()}`;
    writeFileSync(
      join(dir, 'leak.test.ts'),
      `import { spawn } from 'node:child_process';\nimport { it } from 'vitest';\nit('starts a process and forgets it', () => { spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '${marker}'], { stdio: 'ignore' }).unref(); });\n`,
    );
    writeFileSync(
      join(dir, 'vitest.config.mjs'),
      `export default { test: { root: ${JSON.stringify(dir)}, include: ['leak.test.ts'], globalSetup: [${JSON.stringify(join(ROOT, 'test/setup/global.ts'))}], setupFiles: [${JSON.stringify(join(ROOT, 'test/setup/processes.ts'))}] } };\n`,
    );
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(dir, 'vitest.config.mjs')], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), out: `${stdout}${stderr}` }),
      );
    });
    expect(result.code, result.out).not.toBe(0);
    expect(result.out).toMatch(new RegExp(`this test file left 1 process\\(es\\) running after its cleanup \\(now killed\\):\\s+pid \\d+: \\S+ -e setInterval\\(\\(\\) => \\{\\}, 1000\\) ${marker}`));
    const alive = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
    expect(alive).toBe(false);
  });
});
