// guardgate model pull against a local HTTP server that serves a generated GGUF file: the whole file verified by
// its SHA-256, an interrupted download resumed from where it stopped (Range, If-Range), a wrong checksum or a
// file that is not GGUF discarded (the partial file is never used), and offline, 404 and bad input answered clearly.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullModel, PullError } from '../../src/models/pull.js';
import { listModels, removeModel } from '../../src/models/store.js';
import { resolveEngine } from '../../src/config/engine.js';
import { LlamaCppEngine } from '../../src/engines/llamacpp.js';
import { CLI } from '../helpers/cli.js';
import { tinyQwen3Gguf } from '../helpers/gguf.js';

const MODEL = tinyQwen3Gguf();
const SHA256 = createHash('sha256').update(MODEL).digest('hex');

interface Served {
  url: string;
  /** Cut the connection after this many body bytes (once), to interrupt a download. */
  cutAfter: number | undefined;
  /** Range requests received. */
  ranges: string[];
  /** Bytes of body sent, in all. */
  sent: number;
  close(): Promise<void>;
}

async function serve(): Promise<Served> {
  const served = { cutAfter: undefined, ranges: [], sent: 0 } as unknown as Served;
  const server: Server = createServer((req, res) => {
    if (req.url === '/missing.gguf') return void res.writeHead(404).end('not found');
    if (req.url === '/page.gguf')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in first</html>');
    // A hub: the digest on the redirect, the file at a CDN that states none.
    if (req.url === '/hub/tiny.gguf')
      return void res.writeHead(302, { location: '/cdn/tiny.gguf', 'x-linked-etag': `"${SHA256}"` }).end();
    if (req.url === '/hub/other.gguf')
      return void res.writeHead(302, { location: '/cdn/tiny.gguf', 'x-linked-etag': `"${'0'.repeat(64)}"` }).end();
    if (req.url === '/cdn/tiny.gguf') return void res.writeHead(200, { 'content-length': MODEL.length }).end(MODEL);
    // A known name's file at the hub (HF_ENDPOINT points here).
    if (req.url === '/QuantFactory/Qwen3Guard-Gen-0.6B-GGUF/resolve/main/Qwen3Guard-Gen-0.6B.Q8_0.gguf')
      return void res.writeHead(302, { location: '/cdn/tiny.gguf', 'x-linked-etag': `"${SHA256}"` }).end();
    // Hostile servers: a body without end, a drip of a byte at a time, a redirect to a local file.
    if (req.url === '/endless.gguf') {
      res.writeHead(200);
      const chunk = Buffer.alloc(65_536, 7);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      return void pump();
    }
    if (req.url === '/drip.gguf') {
      res.writeHead(200, { 'content-length': 1_000_000 });
      res.write(MODEL.subarray(0, 4));
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('x')), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (req.url === '/to-file.gguf') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    // No length stated: only the disk itself can say it is full.
    if (req.url === '/unsized/tiny.gguf') {
      res.writeHead(200);
      for (let at = 0; at < MODEL.length; at += 16_384) res.write(MODEL.subarray(at, at + 16_384));
      return void res.end();
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const etag = `"${SHA256.slice(0, 16)}"`;
    const start =
      range && (req.headers['if-range'] === undefined || req.headers['if-range'] === etag) ? Number(range[1]) : 0;
    if (range) served.ranges.push(req.headers.range!);
    if (start >= MODEL.length) return void res.writeHead(416).end();
    const body = MODEL.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'content-length': body.length,
      etag,
      'x-linked-etag': `"${SHA256}"`,
      ...(start > 0 ? { 'content-range': `bytes ${start}-${MODEL.length - 1}/${MODEL.length}` } : {}),
    });
    const cut = served.cutAfter;
    served.cutAfter = undefined;
    if (cut !== undefined) {
      res.write(body.subarray(0, cut), () => {
        served.sent += cut;
        res.socket?.destroy();
      });
      return;
    }
    served.sent += body.length;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  served.close = () => new Promise((resolve) => server.close(() => resolve()));
  return served;
}

describe('guardgate model pull', () => {
  let server: Served;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => server?.close());
  const fresh = () => mkdtempSync(join(tmpdir(), 'guardgate-models-'));

  it("downloads a model, verifies it against the server's digest, lists it and removes it", async () => {
    const dir = fresh();
    const progress: number[] = [];
    const result = await pullModel(`${server.url}/tiny.gguf`, {
      dir,
      name: 'tiny.gguf',
      onProgress: (p) => progress.push(p.bytes),
    });
    expect(result).toMatchObject({ bytes: MODEL.length, sha256: SHA256, verified: true, resumedFrom: 0 });
    expect(readFileSync(join(dir, 'tiny.gguf')).equals(MODEL)).toBe(true);
    expect(progress.at(-1)).toBe(MODEL.length);
    expect(listModels(dir)).toEqual([
      expect.objectContaining({ name: 'tiny.gguf', bytes: MODEL.length, sha256: SHA256 }),
    ]);
    expect(removeModel(dir, 'tiny.gguf')).toBe(true);
    expect(listModels(dir)).toEqual([]);
  });

  it('resumes an interrupted download where it stopped, and never leaves a half file as the model', async () => {
    const dir = fresh();
    server.cutAfter = 100_000;
    const broken = await pullModel(`${server.url}/tiny.gguf`, { dir, name: 'tiny.gguf' }).catch(
      (error: unknown) => error,
    );
    expect(broken).toBeInstanceOf(PullError);
    expect((broken as PullError).message).toMatch(/pull again to resume/);
    expect(existsSync(join(dir, 'tiny.gguf'))).toBe(false);
    const before = server.sent;
    const result = await pullModel(`${server.url}/tiny.gguf`, { dir, name: 'tiny.gguf' });
    expect(result.resumedFrom).toBeGreaterThan(0);
    expect(server.ranges.at(-1)).toBe(`bytes=${result.resumedFrom}-`);
    expect(server.sent - before).toBe(MODEL.length - result.resumedFrom);
    expect(readFileSync(join(dir, 'tiny.gguf')).equals(MODEL)).toBe(true);
    expect(result.sha256).toBe(SHA256);
  });

  it('takes the digest a hub states on its redirect, and holds the file to it', async () => {
    const dir = fresh();
    expect(await pullModel(`${server.url}/hub/tiny.gguf`, { dir, name: 'tiny.gguf' })).toMatchObject({
      sha256: SHA256,
      verified: true,
    });
    await expect(pullModel(`${server.url}/hub/other.gguf`, { dir, name: 'other.gguf' })).rejects.toMatchObject({
      code: 'checksum_mismatch',
    });
  });

  it('discards a file whose SHA-256 is not the one asked for, and one that is not GGUF', async () => {
    const dir = fresh();
    const wrong = 'f'.repeat(64);
    await expect(pullModel(`${server.url}/tiny.gguf`, { dir, name: 'tiny.gguf', sha256: wrong })).rejects.toMatchObject(
      { code: 'checksum_mismatch' },
    );
    await expect(pullModel(`${server.url}/page.gguf`, { dir, name: 'page.gguf' })).rejects.toMatchObject({
      code: 'not_gguf',
    });
    expect(listModels(dir)).toEqual([]);
    expect(existsSync(join(dir, 'tiny.gguf.partial'))).toBe(false);
  });

  /** The CLI, asynchronously: the server answering it runs in this process. */
  const cli =
    (dir: string, env: Record<string, string> = {}) =>
    (args: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [CLI, 'model', ...args],
          { encoding: 'utf8', env: { ...process.env, GUARDGATE_MODELS: dir, ...env }, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });

  it('pulls a known model by name (from the hub, or the mirror HF_ENDPOINT names), which the engine then takes by that name', async () => {
    const dir = fresh();
    const run = cli(dir, { HF_ENDPOINT: server.url });
    const before = JSON.parse((await run(['list', '--known', '--json'])).stdout) as Array<{
      name: string;
      url: string;
      pulled: boolean;
    }>;
    expect(before.map((m) => m.name)).toEqual(
      expect.arrayContaining(['qwen3guard-gen-0.6b', 'qwen3guard-gen-4b', 'qwen3guard-gen-8b']),
    );
    expect(before.find((m) => m.name === 'qwen3guard-gen-0.6b')).toMatchObject({
      pulled: false,
      url: `${server.url}/QuantFactory/Qwen3Guard-Gen-0.6B-GGUF/resolve/main/Qwen3Guard-Gen-0.6B.Q8_0.gguf`,
    });
    // Named in a configuration before it is pulled: the engine says how to get it.
    const spec = {
      kind: 'llamacpp' as const,
      model: 'qwen3guard-gen-0.6b',
      contextSize: 512,
      gpuLayers: 0,
      concurrency: 1,
      maxQueued: 1,
      timeoutMs: 1000,
      maxTokens: 64,
      template: 'auto' as const,
    };
    const resolved = resolveEngine(spec, { GUARDGATE_MODELS: dir });
    if (resolved.kind !== 'llamacpp') throw new Error('not llamacpp');
    expect(() => new LlamaCppEngine(resolved)).toThrow(/guardgate model pull qwen3guard-gen-0\.6b\)/);
    const pulled = await run(['pull', 'qwen3guard-gen-0.6b']);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain(`sha256 ${SHA256} (verified)`);
    expect(readFileSync(join(dir, 'qwen3guard-gen-0.6b.gguf')).equals(MODEL)).toBe(true);
    expect(
      JSON.parse((await run(['list', '--known', '--json'])).stdout).find(
        (m: { name: string }) => m.name === 'qwen3guard-gen-0.6b',
      ),
    ).toMatchObject({ pulled: true });
    const engine = new LlamaCppEngine(resolved);
    expect(engine.info.model).toBe('qwen3guard-gen-0.6b');
    await engine.close();
    // The digest checked is the hub's: a hub in clear, off this machine, is refused before anything is fetched.
    const clear = await cli(dir, { HF_ENDPOINT: 'http://hub.example' })(['pull', 'qwen3guard-gen-0.6b']);
    expect(clear.status).toBe(2);
    expect(clear.stderr).toMatch(/HF_ENDPOINT must be an https URL/);
    const unknown = await run(['pull', 'qwen3guard-gen-70b']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/neither a known model nor a URL; known: qwen3guard-gen-0\.6b, /);
  });

  it('stops with disk_full when the disk cannot hold the file: before downloading when its size is stated, when a write fails otherwise', async (context) => {
    // A 64 KB file system for the models (the model is 435 KB): needs the right to mount one.
    const dir = fresh();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      return context.skip(`cannot mount a small tmpfs here (${(error as Error).message.split('\n')[0]})`);
    }
    try {
      const stated = await pullModel(`${server.url}/tiny.gguf`, { dir, name: 'tiny.gguf' }).catch((e: unknown) => e);
      expect(stated).toMatchObject({
        code: 'disk_full',
        message: expect.stringMatching(/needs 435\d+ more bytes .* free; free space \(or set GUARDGATE_MODELS/),
      });
      expect(existsSync(join(dir, 'tiny.gguf.partial'))).toBe(false); // nothing was written for nothing
      const unsized = await pullModel(`${server.url}/unsized/tiny.gguf`, { dir, name: 'tiny.gguf' }).catch(
        (e: unknown) => e,
      );
      expect(unsized).toMatchObject({ code: 'disk_full', message: expect.stringMatching(/is full after \d+ bytes/) });
      expect(listModels(dir)).toEqual([expect.objectContaining({ name: 'tiny.gguf', partial: true })]); // kept, to resume
      const run = cli(dir);
      const full = await run(['pull', `${server.url}/tiny.gguf`]);
      expect(full.status).toBe(1);
      expect(full.stderr).toMatch(/needs \d+ more bytes/);
    } finally {
      execFileSync('umount', [dir]);
    }
  });

  it('refuses hostile servers: a body past the size cap, a drip slower than the least rate, a redirect off http(s); the partial file is listed until removed', async () => {
    const dir = fresh();
    const endless = await pullModel(`${server.url}/endless.gguf`, {
      dir,
      name: 'endless.gguf',
      maxBytes: 2_000_000,
    }).catch((error: unknown) => error);
    expect(endless).toBeInstanceOf(PullError);
    expect(endless).toMatchObject({ code: 'too_large', message: expect.stringMatching(/2000000 bytes/) });
    expect(existsSync(join(dir, 'endless.gguf.partial'))).toBe(false); // nothing to resume: discarded
    const started = Date.now();
    const drip = await pullModel(`${server.url}/drip.gguf`, {
      dir,
      name: 'drip.gguf',
      stallMs: 1_000,
      minBytesPerSecond: 1_024,
    }).catch((error: unknown) => error);
    expect(drip).toMatchObject({ code: 'stalled', message: expect.stringMatching(/slower than 1024 bytes/) });
    expect(Date.now() - started).toBeLessThan(10_000);
    const deadline = await pullModel(`${server.url}/drip.gguf`, { dir, name: 'drip.gguf', deadlineMs: 1_500 }).catch(
      (error: unknown) => error,
    );
    expect(deadline).toMatchObject({ code: 'stalled', message: expect.stringMatching(/not done within 1.5 s/) });
    const redirected = await pullModel(`${server.url}/to-file.gguf`, { dir, name: 'file.gguf' }).catch(
      (error: unknown) => error,
    );
    expect(redirected).toMatchObject({
      code: 'http_error',
      message: expect.stringMatching(/redirect to file: refused: only http and https/),
    });
    // The drip's partial download is kept (it can be resumed) and listed as partial.
    expect(listModels(dir)).toEqual([
      expect.objectContaining({ name: 'drip.gguf', partial: true, bytes: expect.any(Number) }),
    ]);
    expect(removeModel(dir, 'drip.gguf')).toBe(true);
    expect(listModels(dir)).toEqual([]);
  });

  it('says what went wrong, with exit codes, on the command line: 404, unreachable, a bad URL; progress lines otherwise', async () => {
    const dir = fresh();
    const run = cli(dir);
    const missing = await run(['pull', `${server.url}/missing.gguf`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/not found \(404\)/);
    const offline = await run(['pull', 'http://127.0.0.1:9/tiny.gguf']);
    expect(offline.status).toBe(5);
    expect(offline.stderr).toMatch(/cannot reach 127\.0\.0\.1:9/);
    expect((await run(['pull', 'ftp://example.com/x.gguf'])).status).toBe(2);
    const pulled = await run(['pull', `${server.url}/tiny.gguf`, '--sha256', SHA256]);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain(`sha256 ${SHA256} (verified)`);
    expect(pulled.stderr).toMatch(/100\.0% .* of 435 KB/);
    expect((await run(['list'])).stdout).toContain('tiny.gguf');
    expect((await run(['rm', 'tiny.gguf'])).status).toBe(0);
    expect((await run(['rm', 'tiny.gguf'])).status).toBe(2);
  });
});
