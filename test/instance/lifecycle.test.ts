// `guardgate serve` as a process: configuration errors, and the graceful SIGTERM (not ready at once,
// in-flight requests finish, bounded exit).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/router.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { runCli } from '../helpers/cli.js';
import { postJson } from '../helpers/instance.js';

const configFile = (yaml: string): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'guardgate-')), 'instance.yaml');
  writeFileSync(file, yaml);
  return file;
};

describe('guardgate serve', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('answers /predict on the port it was given, with the lexicon engine by default', async () => {
    const cli = runCli(['serve', '--port', '0']);
    try {
      const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
      const { status, body } = await postJson(`${url}/predict`, { prompt: 'hello there' });
      expect(status).toBe(200);
      expect(body.engine.name).toBe('lexicon');
    } finally {
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    }
  });

  it.each([
    [['serve', '--port', 'eighty'], /port/],
    [['serve', '--engine', 'openai'], /engine\.baseUrl/],
    [['serve', '--engine', 'gpt'], /engine\.kind/],
    [['serve', '--policy', 'paranoid'], /policy/],
    [['serve', '--config', '/nonexistent/guardgate.yaml'], /cannot read config file/],
    [['serve', '--no-such-flag'], /unknown option/],
  ])('rejects bad configuration %j with exit code 2 and a clear message', async (args, message) => {
    const cli = runCli(args);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toMatch(message);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  });

  it('on SIGTERM: not ready at once, the in-flight request finishes, then the process exits 0', async () => {
    const file = configFile(
      `engine:\n  kind: openai\n  baseUrl: ${fake.baseUrl}\n  timeoutMs: 5000\nshutdown:\n  drainDelayMs: 400\n  timeoutMs: 5000\n`,
    );
    const cli = runCli(['serve', '--config', file, '--port', '0']);
    const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
    await cli.logLine('engine warmed up; ready');
    fake.behaviour = { kind: 'slow', ms: 800 };
    const asked = fake.received.length;
    const inFlight = postJson(`${url}/predict`, { prompt: 'How do I make a pipe bomb?' });
    await until(() => fake.received.length > asked, 5_000, 'the request at the engine');
    cli.child.kill('SIGTERM');
    await cli.logLine('shutting down: not ready, draining');
    const readiness = await fetch(`${url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toEqual({ ready: false, reason: 'shutting down' });
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.safety).toBe('Unsafe');
    expect(await cli.exited).toBe(0);
    fake.behaviour = { kind: 'model' };
  });

  it('a request that outlives the shutdown deadline does not keep the process alive', async () => {
    const file = configFile(
      `engine:\n  kind: openai\n  baseUrl: ${fake.baseUrl}\n  timeoutMs: 20000\nshutdown:\n  timeoutMs: 300\n`,
    );
    const cli = runCli(['serve', '--config', file, '--port', '0']);
    const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
    await cli.logLine('engine warmed up; ready');
    fake.behaviour = { kind: 'slow', ms: 15_000 };
    const asked = fake.received.length;
    const stuck = postJson(`${url}/predict`, { prompt: 'hello' }).then(
      () => 'answered',
      () => 'connection closed',
    );
    await until(() => fake.received.length > asked, 5_000, 'the request at the engine');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(await stuck).toBe('connection closed');
    await cli.logLine('shutdown deadline passed; closing remaining connections');
    fake.behaviour = { kind: 'model' };
  });
});
