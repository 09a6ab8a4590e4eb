// The command as an operator meets it when something is off: usage errors (exit 2) and unreachable targets
// (exit 5) in one clear line, JSON errors with --json, no stack traces; the data directory from
// GUARDGATE_DATA_DIR; --version.
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { runCli } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { startTestUp } from '../helpers/up.js';

const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const run = runCli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
};

describe('operator-facing errors', () => {
  it.each([
    [['bench', '--endpoint', 'http://127.0.0.1:9', '--duration', 'abc'], 2, /--duration takes a whole number/],
    [
      ['bench', '--endpoint', 'http://127.0.0.1:9', '--connections', '0'],
      2,
      /--connections takes a whole number of at least 1/,
    ],
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
    expect(JSON.parse(result.stdout)).toEqual({
      error: { code: 'unreachable', message: expect.stringMatching(/no running controller found in .*--data-dir/) },
    });
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

  it('with up stopped (its controller.json left behind), status says nothing answers and what to do', async () => {
    const dir = tempDataDir();
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    writeFileSync(
      join(dir, 'controller.json'),
      JSON.stringify({ url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${port}`, pid: 1 }),
    );
    const status = await cli(['status', '--data-dir', dir]);
    expect(status.code).toBe(5);
    expect(status.stderr).toMatch(
      new RegExp(
        `^guardgate: nothing answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): is guardgate up running\\?`,
      ),
    );
  });

  it('keys list with no keys says so; keys revoke and model rm take --json, with the stable code of what failed', async () => {
    const dir = tempDataDir();
    const empty = await cli(['keys', 'list', '--data-dir', dir]);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toMatch(/^no API keys in .*api-keys\.json: add one with guardgate keys add NAME/);
    expect((await cli(['keys', 'add', 'ci', '--data-dir', dir])).code).toBe(0);
    const revoked = await cli(['keys', 'revoke', 'ci', '--json', '--data-dir', dir]);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ name: 'ci', revoked: true });
    const missing = await cli(['keys', 'revoke', 'ci', '--json', '--data-dir', dir]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error.code).toBe('not_found');
    const model = await cli(['model', 'rm', 'absent.gguf', '--json'], { GUARDGATE_MODELS: dir });
    expect(model.code).toBe(2);
    expect(JSON.parse(model.stdout).error).toEqual({ code: 'not_found', message: `no model absent.gguf in ${dir}` });
  });

  it('guardgate --version prints the version', async () => {
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('against a running up', () => {
  let up: RunningUp & { dataDir: string };
  beforeAll(async () => {
    up = await startTestUp();
  });
  afterAll(async () => up?.close());
  const env = () => ({ GUARDGATE_ADMIN_URL: up.adminUrl, GUARDGATE_ADMIN_TOKEN: up.token });

  it('an API refusal keeps its own code under --json, and reads as a sentence without it', async () => {
    const json = await cli(['abort', '--json'], env());
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'invalid_state', message: 'no release is in progress' } });
    const human = await cli(['abort'], env());
    expect(human.stderr).toBe('guardgate: no release is in progress\n');
  });

  it('a second up on the same port says the port is in use, and ends', async () => {
    const port = new URL(up.url).port;
    const second = await cli(['up', '--port', port, '--admin-port', '0', '--data-dir', tempDataDir()]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`guardgate: port ${port} on 127\\.0\\.0\\.1 is in use: is guardgate up already running\\?`),
    );
  });

  it('a second up on the same data directory (other ports) is refused, and leaves the first one found by the CLI', async () => {
    const second = await cli(['up', '--port', '0', '--admin-port', '0', '--data-dir', up.dataDir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `guardgate: the data directory ${up.dataDir} is in use by guardgate up (pid ${process.pid}): stop that one, or start this one with another --data-dir (and other ports)\n`,
    );
    // The first one's controller.json is still there: the CLI still finds it.
    const status = await cli(['status', '--json', '--data-dir', up.dataDir], { GUARDGATE_ADMIN_TOKEN: up.token });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ active: 'blue' });
  });
});
