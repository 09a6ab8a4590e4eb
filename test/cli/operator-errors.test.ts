// The command as an operator meets it when something is off: usage errors (exit 2) and unreachable targets
// (exit 5) in one clear line, JSON errors with --json, no stack traces; the data directory from
// GUARDGATE_DATA_DIR; --version.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';

const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const run = runCli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
};

describe('operator-facing errors', () => {
  it.each([
    [['bench', '--endpoint', 'http://127.0.0.1:9', '--duration', 'abc'], 2, /--duration takes a whole number/],
    [['bench', '--endpoint', 'http://127.0.0.1:9', '--connections', '0'], 2, /--connections takes a whole number of at least 1/],
    [['validate', '--endpoint', 'localhost:8080'], 2, /--endpoint needs a URL with its scheme/],
    [['validate', '--endpoint', 'http://127.0.0.1:9'], 5, /cannot reach http:\/\/127.0.0.1:9/],
    [['bench', '--endpoint', 'http://127.0.0.1:9', '--duration', '1'], 5, /cannot reach/],
  ])('%j exits %i with one clear line', async (args, code, message) => {
    const result = await cli(args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).not.toMatch(/FAIL/);
  });

  it('--json puts the error on stdout as JSON, with the same exit code', async () => {
    const result = await cli(['status', '--json', '--data-dir', tempDataDir()]);
    expect(result.code).toBe(5);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'unreachable', message: expect.stringMatching(/no running controller found in .*--data-dir/) } });
  });

  it('reads the data directory from GUARDGATE_DATA_DIR, and says which one it looked in', async () => {
    const dir = tempDataDir();
    const status = await cli(['status'], { GUARDGATE_DATA_DIR: dir });
    expect(status.code).toBe(5);
    expect(status.stderr).toContain(dir);
    const audit = await cli(['audit'], { GUARDGATE_DATA_DIR: dir });
    expect(audit.code).toBe(2);
    expect(audit.stderr).toMatch(/no audit log in .*pass the --data-dir/);
  });

  it('guardgate --version prints the version', async () => {
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
