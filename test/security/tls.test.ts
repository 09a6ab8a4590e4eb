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
    const config = loadRouterConfig({ port: '0', adminPort: '0', blue: upstream.url, tlsCert: live.certFile, tlsKey: live.keyFile }, {});
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
          const response = await request(`${router.url}/predict`, { method: 'POST', body: '{"prompt":"hi"}', headers: { 'content-type': 'application/json' }, dispatcher: agent });
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
      { ...config.admin, token: ADMIN_TOKEN, tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile } },
      pino({ level: 'silent' }),
    );
    try {
      expect(router.adminUrl).toMatch(/^https:/);
      const call = async (cert?: Certificate) => {
        const agent = new Agent({
          connect: { ca: [readFileSync(server.certFile)], ...(cert ? { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) } : {}) },
        });
        try {
          const response = await request(`${router.adminUrl}/admin/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, dispatcher: agent });
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
