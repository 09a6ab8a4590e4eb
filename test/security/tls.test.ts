// HTTPS on the router's public port from PEM files, replaced under load: no request fails, connections
// already open carry on, and new handshakes see the new certificate. The admin API can require client
// certificates.
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../../src/config/router.js';
import { startRouter, type RunningRouter } from '../../src/router/run.js';
import type { Router } from '../../src/router/router.js';
import { makeCertificate, tempDir, type Certificate } from '../helpers/auth.js';
import { ADMIN_TOKEN, until } from '../helpers/router.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { RunningUp } from '../../src/app/up.js';
import { tempDataDir } from '../helpers/instance.js';
import { quickSpec, startTestUp } from '../helpers/up.js';

/** The certificate a new TLS handshake is shown. */
function presented(url: string, ca: Buffer[]): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca, servername: undefined }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** Replace a file the way cert-manager or an operator does: write aside, rename over. */
function replace(target: string, source: string): void {
  copyFileSync(source, `${target}.new`);
  renameSync(`${target}.new`, target);
}

describe('TLS on the public port', () => {
  const dir = tempDir();
  let upstream: TestUpstream;
  let router: RunningRouter<Router>;
  let first: Certificate;
  let second: Certificate;
  const live = { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') };

  beforeAll(async () => {
    first = makeCertificate(dir, 'router-one');
    second = makeCertificate(dir, 'router-two');
    copyFileSync(first.certFile, live.certFile);
    copyFileSync(first.keyFile, live.keyFile);
    upstream = await startUpstream('blue-1');
    const config = loadRouterConfig(
      { port: '0', adminPort: '0', blue: upstream.url, tlsCert: live.certFile, tlsKey: live.keyFile },
      {},
    );
    router = await startRouter(config, config.auth, { ...config.admin, token: ADMIN_TOKEN }, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await router?.close();
    await upstream?.close();
  });

  it('serves HTTPS, and a replaced certificate takes effect under load with zero failed requests', async () => {
    expect(router.url).toMatch(/^https:/);
    const ca = [readFileSync(first.certFile), readFileSync(second.certFile)];
    expect(await presented(router.url, ca)).toBe(first.fingerprint);
    const agent = new Agent({ connections: 8, connect: { ca } });
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const worker = async () => {
      for (let i = 0; i < 5_000 && !stop; i++) {
        try {
          const response = await request(`${router.url}/predict`, {
            method: 'POST',
            body: '{"prompt":"hi"}',
            headers: { 'content-type': 'application/json' },
            dispatcher: agent,
          });
          await response.body.text();
          if (response.statusCode === 200) ok++;
          else failures.push(`HTTP ${response.statusCode}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));
    await until(() => ok > 200, 20_000);
    replace(live.keyFile, second.keyFile);
    replace(live.certFile, second.certFile);
    await until(async () => (await presented(router.url, ca)) === second.fingerprint, 20_000);
    const atSwap = ok;
    await until(() => ok > atSwap + 200, 20_000);
    stop = true;
    await load;
    await agent.close();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(400);
  });
});

describe('client certificates on the admin API', () => {
  it('refuses a client without a certificate signed by the configured CA', async () => {
    const dir = tempDir();
    const ca = makeCertificate(dir, 'ops-ca');
    const server = makeCertificate(dir, 'admin-server');
    const client = makeCertificate(dir, 'ops-alice', ca);
    const stranger = makeCertificate(dir, 'stranger');
    const config = loadRouterConfig({ port: '0', adminPort: '0' }, {});
    const router = await startRouter(
      config,
      config.auth,
      {
        ...config.admin,
        token: ADMIN_TOKEN,
        tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile },
      },
      pino({ level: 'silent' }),
    );
    try {
      expect(router.adminUrl).toMatch(/^https:/);
      const call = async (cert?: Certificate) => {
        const agent = new Agent({
          connect: {
            ca: [readFileSync(server.certFile)],
            ...(cert ? { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) } : {}),
          },
        });
        try {
          const response = await request(`${router.adminUrl}/admin/status`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
            dispatcher: agent,
          });
          await response.body.text();
          return response.statusCode;
        } catch {
          return 'refused';
        } finally {
          await agent.close();
        }
      };
      expect(await call(client)).toBe(200);
      expect(await call()).toBe('refused');
      expect(await call(stranger)).toBe('refused');
    } finally {
      await router.close();
    }
  });
});

describe('gates of guardgate up behind a private CA', () => {
  const owned: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of owned.reverse()) await close();
  });
  const runGates = async (up: RunningUp, candidate = 'preview') => {
    const response = await fetch(`${up.adminUrl}/admin/gates/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${up.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ candidate, gates: ['functional'] }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { pass: boolean; gates: Array<{ summary: string }> },
    };
  };

  it('with --tls-ca naming the CA that signed the certificate, a release passes its gates and the gate endpoint answers', async () => {
    const dir = tempDir();
    const ca = makeCertificate(dir, 'private-ca');
    const leaf = makeCertificate(dir, 'guardgate-public', ca);
    const up = await startTestUp(
      tempDataDir(),
      {},
      { tlsCert: leaf.certFile, tlsKey: leaf.keyFile, tlsCa: ca.certFile },
    );
    owned.push(() => up.close());
    expect(up.url).toMatch(/^https:/);
    await up.controller.release(
      quickSpec({
        version: 'v2',
        gates: {
          load: { enabled: false },
          shadow: { durationSeconds: 2, samples: 20, minSamples: 10 },
          watch: { enabled: false },
        },
      }),
    );
    await up.controller.settled();
    const release = (await up.controller.status()).release!;
    expect(release.state, release.gates.map((g) => g.summary).join('\n')).toBe('stable');
    expect(release.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['functional', true],
      ['shadow', true],
    ]);
    const gates = await runGates(up);
    expect(gates.status, JSON.stringify(gates.body)).toBe(200);
    expect(gates.body.pass).toBe(true);
  });

  it('a self-signed certificate needs no CA option: the gates trust the certificate the listener serves', async () => {
    const dir = tempDir();
    const self = makeCertificate(dir, 'self-signed');
    const up = await startTestUp(tempDataDir(), {}, { tlsCert: self.certFile, tlsKey: self.keyFile });
    owned.push(() => up.close());
    const gates = await runGates(up, 'live'); // one color only: the gates judge the live version
    expect(gates.status, JSON.stringify(gates.body)).toBe(200);
    expect(gates.body.gates[0]!.summary).toMatch(/^(\d+)\/\1 cases passed/);
  });
});
