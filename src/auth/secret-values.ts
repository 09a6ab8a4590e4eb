// A secret that may hold several values, one a line: what a rotation writes (the new value and the old one,
// both accepted until every holder has the new). A file is read again when it changes (the kubelet swaps a
// mounted Secret whole), so that a rotation needs no restart; values in place or in the environment are fixed.
import { timingSafeEqual } from 'node:crypto';
import { statSync, unwatchFile, watchFile } from 'node:fs';
import { readSecretLines, type SecretSource } from '../config/secret.js';

/** The values of a secret source, kept current as its file changes. */
export class SecretValues {
  private current: readonly Buffer[];
  private readonly listener = () => this.reload();
  private stamp = '';
  private checkedAt = Date.now();

  private constructor(
    private readonly source: SecretSource,
    private readonly check: (value: string) => string | undefined,
    private readonly onError: (error: unknown) => void,
  ) {
    this.current = this.read();
    if ('file' in source) watchFile(source.file, { interval: 500, persistent: false }, this.listener);
  }

  /** Values of `source`; each checked (`check` says what is wrong, or nothing). A file's bad rewrite keeps the values before it. */
  static open(
    source: SecretSource,
    check: (value: string) => string | undefined = () => undefined,
    onError: (error: unknown) => void = () => undefined,
  ): SecretValues {
    return new SecretValues(source, check, onError);
  }

  private read(): Buffer[] {
    if ('file' in this.source) this.stamp = stampOf(this.source.file);
    const lines = 'file' in this.source ? readSecretLines({ file: this.source.file }, {}) : this.source.values;
    for (const line of lines) {
      const wrong = this.check(line);
      if (wrong !== undefined) throw new Error(wrong);
    }
    return lines.map((line) => Buffer.from(line));
  }

  /** A file being swapped (missing a moment, or empty) keeps what was read before: failing closed would lock every caller out. */
  private reload(): void {
    try {
      this.current = this.read();
    } catch (error) {
      this.onError(error);
    }
  }

  /** Re-read now if the file changed (the watcher polls; a request need not wait for it). */
  refresh(): void {
    if ('file' in this.source && stampOf(this.source.file) !== this.stamp) this.reload();
  }

  /** How many values are in force (two during a rotation). */
  get size(): number {
    return this.current.length;
  }

  /**
   * Is `value` one of them? Constant time for each value of its length. A file is looked at again at most once a
   * second here as well: the poller alone missed a replacement on a busy machine (CI, 10 s).
   */
  includes(value: string): boolean {
    if ('file' in this.source && Date.now() - this.checkedAt > 1_000) {
      this.checkedAt = Date.now();
      this.refresh();
    }
    const candidate = Buffer.from(value);
    let found = false;
    for (const known of this.current)
      if (known.length === candidate.length && timingSafeEqual(known, candidate)) found = true;
    return found;
  }

  close(): void {
    if ('file' in this.source) unwatchFile(this.source.file, this.listener);
  }
}

/** What tells a rewrite: inode, size and modification time (a swapped mount changes the inode). */
function stampOf(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
