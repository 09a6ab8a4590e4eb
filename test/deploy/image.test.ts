// The container image, as far as it can be tested without a container daemon (none runs on these machines):
// the Dockerfile's shape (two stages, Node 20, a non-root numeric user, guardgate serve as the entry point, a
// health check on /healthz), every file it copies from the repository exists and is not ignored, and its
// runtime stage reproduced in a directory: the build's own prune command, production dependencies only, the
// guardgate command on PATH, then `guardgate serve` starts, answers the health check as the HEALTHCHECK runs
// it, judges a text, and refuses 0.0.0.0 without credentials as the image's default command would.
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addApiKey } from '../../src/auth/api-keys.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { REPOSITORY } from '../../src/deploy/assets.js';
import { owned } from '../helpers/owned.js';
import { ownerEnv } from '../helpers/processes.js';

interface Instruction {
  stage: number;
  op: string;
  args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  let stage = -1;
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      if (op!.toUpperCase() === 'FROM') stage++;
      return { stage, op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

const run = promisify(execFile);
const dockerfile = instructions(readFileSync(join(REPOSITORY, 'deploy/Dockerfile'), 'utf8'));
const runtime = dockerfile.filter((i) => i.stage === Math.max(...dockerfile.map((d) => d.stage)));
const json = (op: string) => JSON.parse(runtime.find((i) => i.op === op)!.args) as string[];

describe('the container image (deploy/Dockerfile)', () => {
  it('builds in one stage and runs from another: Node 20, a numeric non-root user, guardgate serve, a health check', () => {
    const from = dockerfile.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(from).toEqual(['node:20-bookworm-slim AS build', 'node:20-bookworm-slim']);
    expect(runtime.find((i) => i.op === 'USER')!.args).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(json('ENTRYPOINT')).toEqual(['guardgate']);
    expect(json('CMD').slice(0, 1)).toEqual(['serve']);
    expect(runtime.find((i) => i.op === 'EXPOSE')!.args).toBe('8080');
    expect(runtime.find((i) => i.op === 'HEALTHCHECK')!.args).toContain('/healthz');
    // The runtime stage takes the build's output, never its compiler or development dependencies.
    expect(runtime.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build')).map((i) => i.args.split(' ')[1])).toEqual(['/src/package.json', '/src/node_modules', '/src/dist', '/src/vendor']);
    expect(runtime.some((i) => i.op === 'RUN' && /apt-get|npm (ci|install)/.test(i.args))).toBe(false);
  });

  it('copies only files the repository has and .dockerignore does not exclude', () => {
    const ignored = readFileSync(join(REPOSITORY, '.dockerignore'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const sources = dockerfile.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(4);
    for (const source of sources) {
      expect(existsSync(join(REPOSITORY, source)), source).toBe(true);
      expect(ignored.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)), `${source} is in .dockerignore`).toBe(false);
    }
    // What the build needs from the repository it copies: the lock file, both tsconfigs, the sources.
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'vendor', 'tsconfig.json', 'tsconfig.build.json', 'src']));
  });

  describe('its runtime stage, reproduced in a directory', () => {
    const app = mkdtempSync(join(tmpdir(), 'guardgate-image-'));
    const bin = join(app, 'bin');
    const env = () => ({ PATH: `${bin}:${process.env.PATH}`, NODE_ENV: 'production', GUARDGATE_DATA_DIR: join(app, 'data'), HOME: app, ...ownerEnv() });
    let child: ReturnType<typeof spawn> | undefined;

    beforeAll(async () => {
      // The build stage's state before its prune: package files, every dependency (hard links: quick), the build.
      for (const file of ['package.json', 'package-lock.json']) cpSync(join(REPOSITORY, file), join(app, file));
      cpSync(join(REPOSITORY, 'vendor'), join(app, 'vendor'), { recursive: true });
      await run('cp', ['-al', join(REPOSITORY, 'node_modules'), join(app, 'node_modules')]);
      cpSync(join(REPOSITORY, 'dist'), join(app, 'dist'), { recursive: true });
      // The Dockerfile's own prune-and-trim command, as it is written there.
      const prune = dockerfile.find((i) => i.stage === 0 && i.op === 'RUN' && i.args.includes('npm prune'))!.args;
      await run('sh', ['-c', prune], { cwd: app, timeout: 120_000 });
      for (const dir of ['web', 'suites', 'examples']) cpSync(join(REPOSITORY, dir), join(app, dir), { recursive: true });
      mkdirSync(bin);
      symlinkSync(join(app, 'dist/cli/main.js'), join(bin, 'guardgate'));
      mkdirSync(join(app, 'data'));
    }, 180_000);
    afterAll(() => void child?.kill('SIGTERM'));

    it('has production dependencies only, with the native binding and no compiler leftovers', () => {
      for (const dev of ['vitest', 'kubernetes-models', 'playwright-core', 'eslint', 'tsx']) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
      // node-llama-cpp's CPU build, never its GPU builds (package.json overrides them with an empty package).
      expect(existsSync(join(app, 'node_modules/@node-llama-cpp/linux-x64/package.json'))).toBe(true);
      expect(existsSync(join(app, 'node_modules/@node-llama-cpp/linux-x64-cuda/bins'))).toBe(false);
      expect(existsSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
      expect(existsSync(join(app, 'node_modules/better-sqlite3/deps'))).toBe(false);
      // The build made the command executable (its shebang runs node).
      expect(statSync(join(app, 'dist/cli/main.js')).mode & 0o111).not.toBe(0);
    });

    it('refuses the default command without credentials, with the reason', async () => {
      const refused = await run('guardgate', json('CMD').map((a) => (a === '8080' ? '0' : a)), { env: env(), timeout: 30_000 }).catch((error: { code: number; stderr: string }) => error);
      // Refused as a configuration error (exit 2), not killed at the deadline after serving after all.
      expect(refused).toMatchObject({ code: EXIT.usage, killed: false });
      expect((refused as { stderr: string }).stderr).toMatch(/credentials|API key|insecure/i);
    });

    it('runs guardgate serve with an API key file, passes the HEALTHCHECK command, and judges a text', async () => {
      const key = addApiKey(join(app, 'keys.json'), 'app', ['moderate']);
      child = owned(spawn('guardgate', ['serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info'], { env: { ...env(), GUARDGATE_API_KEYS_FILE: join(app, 'keys.json') }, stdio: ['ignore', 'pipe', 'pipe'] }));
      // The URL from its "listening" log line, as soon as it is written (or undefined if it exits first, or in 30 s).
      let out = '';
      const url = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 30_000);
        child!.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const found = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1];
          if (found === undefined) return;
          clearTimeout(timer);
          resolve(found);
        });
        child!.once('exit', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      expect(url, out).toBeDefined();
      // The image's HEALTHCHECK, aimed at this port.
      const healthcheck = runtime.find((i) => i.op === 'HEALTHCHECK')!.args;
      const health = (JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[]).map((a) => a.replace('http://127.0.0.1:8080', url!));
      await expect(run(health[0]!, health.slice(1), { timeout: 10_000 })).resolves.toBeDefined();
      const verdict = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ prompt: 'How do I make a pipe bomb?' }) });
      expect(verdict.status).toBe(200);
      expect(((await verdict.json()) as { safety: string }).safety).toBe('Unsafe');
      // And the manifests come from the same install.
      const rendered = await run('guardgate', ['k8s', 'render', join(app, 'examples/lexicon-v2.yaml')], { env: env(), timeout: 30_000 });
      expect(rendered.stdout).toContain('kind: Deployment');
    });
  });
});
