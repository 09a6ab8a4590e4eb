// Credentials for tests: JWTs signed with jose, a JWKS server on loopback whose keys a test can rotate,
// PEM key pairs, and certificates made by openssl.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT, type JWK } from 'jose';

export const HS_SECRET = 'a-test-shared-secret-of-at-least-32-bytes!';
export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'guardgate-test';

export interface TokenOptions {
  key: KeyObject | Uint8Array;
  alg: string;
  kid?: string;
  sub?: string | undefined;
  scope?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for a token that has expired. */
  expiresIn?: number;
  /** Seconds from now before which the token is not valid. */
  notBefore?: number;
}

export async function signToken(options: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(options.scope === undefined ? {} : { scope: options.scope })
    .setProtectedHeader({ alg: options.alg, ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  else jwt.setSubject('user-1');
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return jwt.sign(options.key);
}

/** A compact JWS with `alg: none` (what an attacker sends to skip the signature). */
export const unsignedToken = (payload: Record<string, unknown>): string =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;

export const rsaKeyPair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ecKeyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'guardgate-auth-'));

export function writePem(key: KeyObject, dir = tempDir()): string {
  const file = join(dir, `key-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, key.export({ type: 'spki', format: 'pem' }) as string);
  return file;
}

export interface JwksServer {
  url: string;
  fetches: number;
  setKeys(keys: Array<{ kid: string; key: KeyObject; alg: string }>): Promise<void>;
  close(): Promise<void>;
}

export async function startJwks(keys: Array<{ kid: string; key: KeyObject; alg: string }>): Promise<JwksServer> {
  let body = '';
  const setKeys = async (next: typeof keys) => {
    const jwks: JWK[] = await Promise.all(
      next.map(async ({ kid, key, alg }) => ({ ...(await exportJWK(key)), kid, alg, use: 'sig' })),
    );
    body = JSON.stringify({ keys: jwks });
  };
  await setKeys(keys);
  const state = { fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    setKeys,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Certificate {
  certFile: string;
  keyFile: string;
  /** The certificate's SHA-256 fingerprint, as Node reports `fingerprint256`. */
  fingerprint: string;
}

/** A self-signed certificate for 127.0.0.1 (or one signed by `ca`), made by openssl. */
export function makeCertificate(dir: string, name: string, ca?: Certificate): Certificate {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const subject = ['-subj', `/CN=${name}`];
  if (ca === undefined) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        ...subject,
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  } else {
    const csr = join(dir, `${name}.csr`);
    execFileSync(
      'openssl',
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        csr,
        ...subject,
      ],
      { stdio: 'ignore' },
    );
    const extensions = join(dir, `${name}.ext`);
    writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1\n');
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.certFile,
        '-CAkey',
        ca.keyFile,
        '-CAcreateserial',
        '-out',
        certFile,
        '-days',
        '2',
        '-extfile',
        extensions,
      ],
      { stdio: 'ignore' },
    );
  }
  const fingerprint = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'])
    .toString()
    .trim()
    .split('=')[1]!;
  return { certFile, keyFile, fingerprint };
}
