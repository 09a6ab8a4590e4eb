// What authentication costs on /predict: throughput of the instance (zero-cost engine) with no
// credentials, with an HS256 JWT, an ES256 JWT and an API key, in the same run, alternating rounds.
// Goal: JWT verification keeps at least 0.9 of the anonymous throughput.
// Run: npx tsx bench/auth-cost.ts [--seconds 5] [--connections 50] [--rounds 3]
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { addApiKey } from '../src/auth/api-keys.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { measureLoad, type LoadFigures } from '../src/gates/load.js';
import { argValue, median, startServerProcess } from './load.js';

const seconds = argValue('seconds', 5);
const connections = argValue('connections', 50);
const rounds = argValue('rounds', 3);
const script = fileURLToPath(new URL('./fixtures/throughput-server.ts', import.meta.url));
const body = JSON.stringify({ prompt: 'How can I kill a Python process that is stuck?' });

const dir = mkdtempSync(join(tmpdir(), 'guardgate-auth-bench-'));
const secret = 'bench-shared-secret-of-at-least-32-bytes!!';
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicKeyFile = join(dir, 'jwt.pem');
writeFileSync(publicKeyFile, ec.publicKey.export({ type: 'spki', format: 'pem' }) as string);
const keysFile = join(dir, 'api-keys.json');
const apiKey = addApiKey(keysFile, 'bench', ['moderate']);
const sign = (alg: string, key: Parameters<SignJWT['sign']>[0]) =>
  new SignJWT({ scope: 'moderate' })
    .setProtectedHeader({ alg })
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(key);

const kinds = {
  instance: { env: {}, authorization: undefined },
  'instance-jwt': {
    env: { BENCH_JWT_SECRET: secret },
    authorization: `Bearer ${await sign('HS256', new TextEncoder().encode(secret))}`,
  },
  'instance-es256': {
    env: { BENCH_JWT_PUBLIC_KEY_FILE: publicKeyFile },
    authorization: `Bearer ${await sign('ES256', ec.privateKey)}`,
  },
  'instance-apikey': { env: { BENCH_API_KEYS_FILE: keysFile }, authorization: `Bearer ${apiKey}` },
} as const;
type Kind = keyof typeof kinds;

// In process first: what one authorisation costs, in microseconds (steadier than req/s on a shared machine).
const perCall = async (
  authenticator: Authenticator,
  header: string | undefined,
  iterations: number,
  fresh?: () => Promise<string>,
) => {
  const headers = fresh ? await Promise.all(Array.from({ length: iterations }, fresh)) : [];
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await authenticator.authorize(fresh ? headers[i] : header, 'moderate');
  return ((performance.now() - started) * 1000) / iterations;
};
const anonymous = await Authenticator.create({ rateLimit: { store: 'memory', limits: {}, timeoutMs: 50 } });
const hs = await Authenticator.create({
  jwt: { secret, clockToleranceSeconds: 60, jwksCacheSeconds: 600, jwksCooldownSeconds: 30 },
  rateLimit: { store: 'memory', limits: {}, timeoutMs: 50 },
});
const es = await Authenticator.create({
  jwt: { publicKeyFile, clockToleranceSeconds: 60, jwksCacheSeconds: 600, jwksCooldownSeconds: 30 },
  rateLimit: { store: 'memory', limits: {}, timeoutMs: 50 },
});
const keyed = await Authenticator.create({
  apiKeysFile: keysFile,
  rateLimit: { store: 'memory', limits: {}, timeoutMs: 50 },
});
const freshHs = async () => `Bearer ${await sign('HS256', new TextEncoder().encode(secret))}`;
let nonce = 0;
const freshEs = async () =>
  `Bearer ${await new SignJWT({ scope: 'moderate', n: nonce++ }).setProtectedHeader({ alg: 'ES256' }).setSubject('bench').setExpirationTime('2h').sign(ec.privateKey)}`;
console.log('one authorisation, in process (µs):');
console.log(`  anonymous                 ${(await perCall(anonymous, undefined, 200_000)).toFixed(2)}`);
console.log(`  API key (SHA-256 look-up) ${(await perCall(keyed, `Bearer ${apiKey}`, 100_000)).toFixed(2)}`);
console.log(`  HS256 JWT, remembered     ${(await perCall(hs, await freshHs(), 100_000)).toFixed(2)}`);
console.log(
  `  HS256 JWT, first sight    ${(await perCall(hs, undefined, 2_000, async () => `Bearer ${await new SignJWT({ scope: 'moderate', n: nonce++ }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('2h').sign(new TextEncoder().encode(secret))}`)).toFixed(2)}`,
);
console.log(`  ES256 JWT, first sight    ${(await perCall(es, undefined, 2_000, freshEs)).toFixed(2)}`);
for (const a of [anonymous, hs, es, keyed]) a.close();
console.log('');

const results = Object.fromEntries(Object.keys(kinds).map((k) => [k, [] as LoadFigures[]])) as Record<
  Kind,
  LoadFigures[]
>;
for (let round = 1; round <= rounds; round++) {
  for (const kind of Object.keys(kinds) as Kind[]) {
    const { env, authorization } = kinds[kind];
    const server = await startServerProcess(script, [kind], env);
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const check = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    if (check.status !== 200) throw new Error(`${kind}: the credential was refused (${check.status})`);
    await measureLoad(server.url, { bodies: [body], connections, durationSeconds: 1, headers }); // warm the JIT
    const figures = await measureLoad(server.url, { bodies: [body], connections, durationSeconds: seconds, headers });
    await server.stop();
    results[kind].push(figures);
    console.log(
      `round ${round} ${kind.padEnd(16)} ${figures.qps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms  failed ${figures.failed}`,
    );
  }
}

console.log(
  `\nmedian of ${rounds} rounds, ${connections} connections, ${seconds} s each; ratio = median of per-round ratios to the anonymous instance`,
);
for (const kind of Object.keys(kinds) as Kind[]) {
  const ratios = results[kind].map((r, i) => r.qps / results.instance[i]!.qps);
  const goal = kind === 'instance-jwt' || kind === 'instance-es256' ? ' (goal >= 0.90)' : '';
  console.log(
    `${kind.padEnd(16)} ${median(results[kind].map((r) => r.qps))
      .toFixed(0)
      .padStart(
        7,
      )} req/s  p99 ${median(results[kind].map((r) => r.p99))} ms  ratio ${median(ratios).toFixed(2)}${goal}`,
  );
}
