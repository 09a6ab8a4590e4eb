// A secret that may hold several values, one a line: what a rotation writes (the new value and the old one,
// both accepted until every holder has the new). A file is looked at again when a value is checked, at most once
// a second, and read again when it changed (the kubelet swaps a mounted Secret whole), so that a rotation needs no
// restart; values in place or in the environment are fixed.
import { timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { readSecretLines, type SecretSource } from '../config/secret.js';

/** How often a file source is looked at again, at most. */
const RECHECK_MS = 1_000;

/** The values of a secret source, kept current as its file changes. */
export class SecretValues {
  private current: readonly Buffer[];
  /** The file as last read (inode, size, modification time), and when it was last looked at. */
  private stamp = '';
  private checkedAt = Date.now();

  private constructor(
    private readonly source: SecretSource,
    private readonly check: (value: string) => string | undefined,
    private readonly onError: (error: unknown) => void,
  ) {
    this.current = this.read();
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

  /**
   * Read the file again if it changed since it was read. One being swapped (missing a moment, or empty, or bad)
   * keeps what was read before, and is reported: failing closed would lock every caller out.
   */
  private refresh(): void {
    const now = Date.now();
    if (!('file' in this.source) || now - this.checkedAt < RECHECK_MS) return;
    this.checkedAt = now;
    if (stampOf(this.source.file) === this.stamp) return;
    try {
      this.current = this.read();
    } catch (error) {
      this.onError(error);
    }
  }

  /** Is `value` one of them? Constant time for each value of its length. */
  includes(value: string): boolean {
    this.refresh();
    const candidate = Buffer.from(value);
    let found = false;
    for (const known of this.current)
      if (known.length === candidate.length && timingSafeEqual(known, candidate)) found = true;
    return found;
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
