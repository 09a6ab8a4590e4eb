// A certificate and key from PEM files, watched: when either changes, the new pair is handed to
// `onChange` (a server's setSecureContext), so that new handshakes see it while open connections carry on.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** A certificate and its key, as read. */
export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

/** A certificate and key reloaded when the files change (a half-written pair is skipped). */
export class WatchedKeyPair {
  private readonly listener = () => this.reload();
  current: KeyPair;

  constructor(
    private readonly files: { certFile: string; keyFile: string },
    private readonly onChange: (pair: KeyPair) => void,
    private readonly onError: (error: unknown) => void,
    pollMs = 500,
  ) {
    this.current = this.read();
    for (const file of [files.certFile, files.keyFile])
      watchFile(file, { interval: pollMs, persistent: false }, this.listener);
  }

  /** Read both files and check that they make a valid pair (throws otherwise). */
  private read(): KeyPair {
    const pair = { cert: readFileSync(this.files.certFile), key: readFileSync(this.files.keyFile) };
    createSecureContext(pair);
    return pair;
  }

  /** A half-written pair (the certificate replaced, the key not yet) is skipped; the next change retries. */
  private reload(): void {
    try {
      const pair = this.read();
      if (pair.cert.equals(this.current.cert) && pair.key.equals(this.current.key)) return;
      this.current = pair;
      this.onChange(pair);
    } catch (error) {
      this.onError(error);
    }
  }

  close(): void {
    for (const file of [this.files.certFile, this.files.keyFile]) unwatchFile(file, this.listener);
  }
}
