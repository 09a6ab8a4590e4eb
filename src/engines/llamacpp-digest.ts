// A model file's identity: its SHA-256, from the sidecar `guardgate model pull` wrote, or computed.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';

/** The file's SHA-256: the `.sha256` that `guardgate model pull` wrote beside it when it is newer, else computed. */
export function modelDigest(path: string): string {
  const sidecar = `${path}.sha256`;
  if (existsSync(sidecar) && statSync(sidecar).mtimeMs >= statSync(path).mtimeMs) {
    const stated = readFileSync(sidecar, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(stated)) return stated;
  }
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
