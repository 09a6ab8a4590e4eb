// Secrets with several values, as a credential rotation writes them: a pod accepts the new and the old token
// while both are listed, and only the new once its mounted file says so, with no restart.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/auth/api-keys.js';
import { Authenticator } from '../../../src/auth/authenticator.js';
import { resolveAuth, authSchema } from '../../../src/config/auth.js';
import { podCredentialEnv } from '../../../src/drivers/kubernetes/rotation.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Replace the file whole, as the kubelet swaps a mounted Secret. */
function swap(file: string, text: string): void {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
}

const until = async (check: () => Promise<boolean>, what: string) => {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const accepts = async (authenticator: Authenticator, token: string) =>
  authenticator.authenticate(`Bearer ${token}`).then(
    (principal) => principal.method === 'gate_token',
    () => false,
  );

describe('rotated secrets', () => {
  it('accepts every listed gate token, and follows its file as it is replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-rotated-'));
    dirs.push(dir);
    const file = join(dir, 'GUARDGATE_GATE_TOKEN_SHA256');
    writeFileSync(file, `${sha256Hex('new-token')}\n${sha256Hex('old-token')}\n`);
    const errors: unknown[] = [];
    const authenticator = await Authenticator.create(
      resolveAuth(authSchema.parse({ gateTokenSha256: { file }, anonymous: false }), {}),
      { onDigestFileError: (error) => errors.push(error) },
    );
    try {
      expect(await accepts(authenticator, 'new-token')).toBe(true);
      expect(await accepts(authenticator, 'old-token')).toBe(true);
      expect(await accepts(authenticator, 'other-token')).toBe(false);

      // The rotation's end: the new token alone.
      swap(file, `${sha256Hex('new-token')}\n`);
      await until(async () => !(await accepts(authenticator, 'old-token')), 'the old token refused');
      expect(await accepts(authenticator, 'new-token')).toBe(true);

      // A rewrite that is not digests keeps what was in force, and says so.
      swap(file, 'not a digest\n');
      await until(
        async () => (await accepts(authenticator, 'new-token')) && errors.length > 0,
        'the bad rewrite reported',
      );
      expect(String(errors[0])).toMatch(/64 hex digits/);
      expect(await accepts(authenticator, 'new-token')).toBe(true);
    } finally {
      authenticator.close();
    }
  });

  it('reads several values, one a line, from the environment too', async () => {
    const env = { GATE: `${sha256Hex('a')}\n${sha256Hex('b')}` };
    const authenticator = await Authenticator.create(
      resolveAuth(authSchema.parse({ gateTokenSha256: { env: 'GATE' }, anonymous: false }), env),
    );
    expect(await accepts(authenticator, 'a')).toBe(true);
    expect(await accepts(authenticator, 'b')).toBe(true);
    authenticator.close();
    expect(() =>
      resolveAuth(authSchema.parse({ gateTokenSha256: { env: 'GATE' } }), { GATE: `${sha256Hex('a')}\nnope` }),
    ).toThrow(/64 hex digits/);
  });

  it("lists a rotation's new values first and the old after, and the current alone otherwise", () => {
    const current = { 'admin-token': 'admin', 'gate-token': 'gate-1', 'router-secret': 'router-1' };
    expect(podCredentialEnv({ current })).toEqual({
      GUARDGATE_GATE_TOKEN_SHA256: sha256Hex('gate-1'),
      GUARDGATE_ROUTER_SECRET: 'router-1',
    });
    expect(podCredentialEnv({ current, next: { 'gate-token': 'gate-2', 'router-secret': 'router-2' } })).toEqual({
      GUARDGATE_GATE_TOKEN_SHA256: `${sha256Hex('gate-2')}\n${sha256Hex('gate-1')}`,
      GUARDGATE_ROUTER_SECRET: 'router-2\nrouter-1',
    });
  });
});
