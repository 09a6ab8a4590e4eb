// Downloading a model file: resumable (an interrupted download continues where it stopped, if the server still
// has the same file), verified (SHA-256, when one is known, and the GGUF magic), and never used half-done (the
// file is written as `.partial` and renamed only once whole and verified). Bounded against a hostile or broken
// server: a size cap, a least rate over every window of `stallMs` (a byte every 20 s is not a download), an
// overall deadline, and redirects only to http(s).
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ensureDir } from './store.js';

/** Why a pull failed. */
export type PullErrorCode =
  'unreachable' | 'not_found' | 'http_error' | 'checksum_mismatch' | 'not_gguf' | 'disk_full' | 'stalled' | 'too_large';

/** A pull that failed, with why. */
export class PullError extends Error {
  override readonly name = 'PullError';
  constructor(
    readonly code: PullErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** How far a pull is. */
export interface PullProgress {
  bytes: number;
  total: number | null;
  /** Bytes a second over the last seconds of this attempt. */
  rate: number;
  /** Seconds left at that rate, when the total is known. */
  etaSeconds: number | null;
  resumedFrom: number;
}

/** Where a pull goes and what bounds it. */
export interface PullOptions {
  dir: string;
  /** The file name in the directory (default: the URL's last path segment). */
  name: string;
  /** Expected SHA-256 (hex); without one, the server's (an `x-linked-etag` or `digest` header) when it gives one. */
  sha256?: string | undefined;
  onProgress?: (progress: PullProgress) => void;
  /** The window of the least rate: fewer than `minBytesPerSecond` over this long ends the attempt (it can be resumed). */
  stallMs?: number;
  /** The least rate, bytes a second, over each window of `stallMs` (default 1,024). */
  minBytesPerSecond?: number;
  /** The most a file may be (default 32 GiB: Qwen3Guard-Gen-8B in BF16 is 16 GiB). */
  maxBytes?: number;
  /** The most one attempt may take, however fast it goes (default 24 h). */
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** The largest file a pull accepts by default. */
export const DEFAULT_MAX_BYTES = 32 * 1024 ** 3;

/** A pulled file: where, how large, its digest and whether it was checked. */
export interface PullResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Whether the digest was checked against one known beforehand (flag, name or server), or only computed. */
  verified: boolean;
  resumedFrom: number;
}

interface PartialState {
  url: string;
  /** What the server said the file was, to resume only the same file (If-Range). */
  validator: string | null;
}

const GGUF_MAGIC = Buffer.from('GGUF');

/** The server's own SHA-256 of the file, where it states one (Hugging Face's `x-linked-etag`, RFC 9530 `repr-digest`). */
function serverDigest(headers: Headers): string | undefined {
  const etag = headers.get('x-linked-etag')?.replace(/^W\//, '').replace(/"/g, '');
  if (etag !== undefined && /^[0-9a-f]{64}$/.test(etag)) return etag;
  const digest = /sha-256=:([A-Za-z0-9+/=]+):/.exec(headers.get('repr-digest') ?? headers.get('digest') ?? '')?.[1];
  return digest === undefined ? undefined : Buffer.from(digest, 'base64').toString('hex');
}

async function hashOf(path: string): Promise<ReturnType<typeof createHash>> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

/** Download a model file: resumable, verified, bounded, never used half-done. */
export async function pullModel(url: string, options: PullOptions): Promise<PullResult> {
  ensureDir(options.dir);
  const target = join(options.dir, options.name);
  const partial = `${target}.partial`;
  const stateFile = `${partial}.json`;
  let state: PartialState | null = null;
  try {
    state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as PartialState) : null;
  } catch {
    state = null; // unreadable: start again
  }
  // A partial download of another URL is not this file's beginning; one without a validator (ETag or
  // Last-Modified) cannot be shown to be the same file, so it starts again.
  const have = existsSync(partial) && state?.url === url && state.validator ? statSync(partial).size : 0;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    headers['if-range'] = state!.validator!;
  }
  const stallMs = options.stallMs ?? 30_000;
  const minRate = options.minBytesPerSecond ?? 1_024;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const deadlineMs = options.deadlineMs ?? 86_400_000;
  const host = new URL(url).host;
  // Why the attempt was stopped (the least rate, the deadline), said in the error.
  let stopped: string | undefined;
  const stall = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  let received = 0;
  let receivedAtCheck = 0;
  let answered = false;
  const check = setInterval(() => {
    const window = received - receivedAtCheck;
    receivedAtCheck = received;
    if (window >= (minRate * stallMs) / 1000) return;
    stopped = !answered
      ? `no answer from ${host} within ${stallMs / 1000} s`
      : window === 0
        ? `no data from ${host} for ${stallMs / 1000} s`
        : `${host} sent ${window} bytes in ${stallMs / 1000} s, slower than ${minRate} bytes a second`;
    stall.abort();
  }, stallMs);
  const deadline = setTimeout(() => {
    stopped = `the download from ${host} was not done within ${deadlineMs / 1000} s`;
    stall.abort();
  }, deadlineMs);
  const clearTimers = () => {
    clearInterval(check);
    clearTimeout(deadline);
  };
  let response: Response;
  let statedDigest: string | undefined;
  try {
    // Redirects followed by hand: a hub states the file's SHA-256 on the redirect (x-linked-etag), not at the CDN.
    let at = url;
    for (let hops = 0; ; hops++) {
      response = await fetch(at, { headers, signal, redirect: 'manual' });
      statedDigest ??= serverDigest(response.headers);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) break;
      if (hops >= 5) throw new PullError('http_error', `${url}: more than 5 redirects`);
      await response.body?.cancel();
      const next = new URL(location, at);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new PullError('http_error', `${url}: redirect to ${next.protocol} refused: only http and https`);
      at = next.toString();
    }
    answered = true;
  } catch (error) {
    clearTimers();
    if (error instanceof PullError) throw error;
    const cause = ((error as Error).cause as { code?: string; message?: string } | undefined) ?? {};
    if (stopped !== undefined) throw new PullError('stalled', stopped);
    throw new PullError(
      'unreachable',
      `cannot reach ${host}: ${cause.code ?? cause.message ?? (error as Error).message}`,
    );
  }
  if (response.status === 404) {
    clearTimers();
    throw new PullError('not_found', `${url}: not found (404)`);
  }
  if (response.status === 416 && have > 0) {
    // The partial file may be whole already (the last attempt stopped before renaming it): only if the server says so.
    clearTimers();
    await response.body?.cancel();
    const size = Number(/\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1]);
    if (size === have) return finish(url, target, partial, stateFile, have, options, statedDigest, have);
    rmSync(partial, { force: true });
    throw new PullError(
      'http_error',
      `${url}: the server refused to resume (416); the partial file was discarded, pull again`,
    );
  }
  if (response.status !== 200 && response.status !== 206) {
    clearTimers();
    await response.body?.cancel();
    throw new PullError('http_error', `${url}: HTTP ${response.status}`);
  }
  // 200: the server sent the whole file (it cannot resume, or the file changed): start again. A 206 must start
  // where the partial file ends.
  const resumedFrom = response.status === 206 ? have : 0;
  if (
    response.status === 206 &&
    Number(/^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1]) !== have
  ) {
    clearTimers();
    await response.body?.cancel();
    rmSync(partial, { force: true });
    throw new PullError(
      'http_error',
      `${url}: the server resumed at another place than byte ${have}; the partial file was discarded, pull again`,
    );
  }
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? resumedFrom + length : null;
  if (total !== null && total > maxBytes) {
    clearTimers();
    await response.body?.cancel();
    rmSync(partial, { force: true });
    throw new PullError('too_large', `${url}: the file is ${total} bytes, over the cap of ${maxBytes} bytes`);
  }
  if (total !== null) {
    // Known to be too big: said now, not after filling the disk.
    const { bavail, bsize } = statfsSync(options.dir);
    if (length > bavail * bsize) {
      clearTimers();
      await response.body?.cancel();
      throw new PullError(
        'disk_full',
        `${options.name} needs ${length} more bytes and the disk holding ${options.dir} has ${bavail * bsize} free; free space (or set GUARDGATE_MODELS to another disk) and pull again`,
      );
    }
  }
  writeFileSync(
    stateFile,
    JSON.stringify({
      url,
      validator: response.headers.get('etag') ?? response.headers.get('last-modified'),
    } satisfies PartialState),
  );
  const fd = openSync(partial, resumedFrom > 0 ? 'a' : 'w');
  const started = performance.now();
  let lastReport = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (
        resumedFrom + received + chunk.length > maxBytes ||
        (total !== null && resumedFrom + received + chunk.length > total)
      ) {
        rmSync(partial, { force: true });
        throw new PullError(
          'too_large',
          `${url}: more than ${total ?? maxBytes} bytes${total === null ? ' (the cap)' : ' (what the server stated)'}; the partial file was discarded`,
        );
      }
      try {
        for (let written = 0; written < chunk.length;) written += writeSync(fd, chunk, written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
          throw new PullError(
            'disk_full',
            `the disk holding ${options.dir} is full after ${resumedFrom + received} bytes; free space and pull again to resume`,
          );
        throw error;
      }
      received += chunk.length;
      const now = performance.now();
      if (options.onProgress && (now - lastReport > 250 || (total !== null && resumedFrom + received === total))) {
        lastReport = now;
        const rate = received / Math.max((now - started) / 1000, 0.001);
        const bytes = resumedFrom + received;
        options.onProgress({
          bytes,
          total,
          rate,
          etaSeconds: total === null ? null : (total - bytes) / Math.max(rate, 1),
          resumedFrom,
        });
      }
    }
  } catch (error) {
    if (error instanceof PullError) throw error;
    if (stopped !== undefined)
      throw new PullError('stalled', `${stopped} after ${resumedFrom + received} bytes; pull again to resume`);
    throw new PullError(
      'unreachable',
      `the download of ${url} broke off after ${resumedFrom + received} bytes (${(error as Error).message}); pull again to resume`,
    );
  } finally {
    clearTimers();
    closeSync(fd);
  }
  const bytes = resumedFrom + received;
  if (total !== null && bytes !== total)
    throw new PullError(
      'unreachable',
      `the download of ${url} stopped at ${bytes} of ${total} bytes; pull again to resume`,
    );
  return finish(url, target, partial, stateFile, bytes, options, statedDigest, resumedFrom);
}

/** Verify the whole partial file, then make it the model. */
async function finish(
  url: string,
  target: string,
  partial: string,
  stateFile: string,
  bytes: number,
  options: PullOptions,
  fromServer: string | undefined,
  resumedFrom: number,
): Promise<PullResult> {
  const sha256 = (await hashOf(partial)).digest('hex');
  const expected = options.sha256?.toLowerCase() ?? fromServer;
  const discard = () => {
    rmSync(partial, { force: true });
    rmSync(stateFile, { force: true });
  };
  if (expected !== undefined && expected !== sha256) {
    discard();
    throw new PullError(
      'checksum_mismatch',
      `${url}: SHA-256 ${sha256} is not the expected ${expected}; the download was discarded`,
    );
  }
  const head = Buffer.alloc(4);
  const fd = openSync(partial, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(GGUF_MAGIC)) {
    discard();
    throw new PullError(
      'not_gguf',
      `${url} is not a GGUF file (it starts with ${JSON.stringify(head.toString('latin1'))}); the download was discarded`,
    );
  }
  writeFileSync(`${target}.sha256`, `${sha256}\n`);
  renameSync(partial, target);
  rmSync(stateFile, { force: true });
  return { path: target, bytes, sha256, verified: expected !== undefined, resumedFrom };
}
