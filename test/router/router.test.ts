// The router over real sockets: routing, atomic switch, draining, preview, weights, mirroring, health,
// retries and the admin API.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { RunningRouter } from '../../src/router/run.js';
import type { Router } from '../../src/router/router.js';
import type { MirrorPair } from '../../src/router/mirror.js';
import { startUpstream, type Echo, type TestUpstream } from '../helpers/upstream.js';
import { ROUTER_SECRET } from '../helpers/instance.js';
import { ADMIN_TOKEN, admin, startTestRouter, until } from '../helpers/router.js';

describe('router', () => {
  let blue: TestUpstream;
  let blue2: TestUpstream;
  let green: TestUpstream;
  let router: RunningRouter<Router>;
  const client = new Agent({ connections: 4, keepAliveTimeout: 30_000 });

  const send = async (path = '/predict', headers: Record<string, string> = {}, base = router.url) => {
    const response = await request(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ prompt: 'hello' }),
      dispatcher: client,
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      body: text.startsWith('{') ? (JSON.parse(text) as Echo & { error?: { code: string } }) : text,
    };
  };

  beforeAll(async () => {
    [blue, blue2, green] = await Promise.all([
      startUpstream('blue-1'),
      startUpstream('blue-2'),
      startUpstream('green-1'),
    ]);
    router = await startTestRouter({
      blue: `${blue.url},${blue2.url}`,
      green: green.url,
      blueVersion: 'v1',
      greenVersion: 'v2',
      previewPort: '0',
    });
  });
  afterEach(async () => {
    if (router.router.active !== 'blue') await router.router.switchTo('blue');
    await router.router.setWeights(0);
    await router.router.setMirror(0);
    for (const u of [blue, blue2, green]) {
      u.ready = true;
      u.healthDelayMs = 0;
      u.delayMs = 0;
      u.status = 200;
      u.received.length = 0;
    }
    await until(() => router.router.pools.blue.healthyCount === 2 && router.router.pools.green.healthyCount === 1);
  });
  /** Why the router last took this instance out of rotation, from its status. */
  const lastEjection = (url: string) =>
    router.router.localStatus().pools.blue.instances.find((i) => i.url === url)?.lastEjection;
  afterAll(async () => {
    await router.close();
    await client.close();
    await Promise.all([blue, blue2, green].map((u) => u.close()));
  });

  it('sends requests to the active color, saying who answered, with headers and body intact', async () => {
    const { status, headers, body } = await send('/predict?x=1', { 'x-custom': 'kept' });
    expect(status).toBe(200);
    expect(headers['x-guardgate-color']).toBe('blue');
    expect(headers['x-guardgate-version']).toBe('v1');
    expect(headers['x-upstream']).toMatch(/^blue-/);
    expect(headers['set-cookie']).toEqual(['a=1', 'b=2']);
    const echo = body as Echo;
    expect(echo.path).toBe('/predict?x=1');
    expect(echo.body).toBe('{"prompt":"hello"}');
    expect(echo.headers['x-custom']).toBe('kept');
    expect(echo.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/); // a trace id was added
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('an X-Forwarded-For a client sends is replaced by its address: only proxies named in trustProxy may pass one on', async () => {
    const spoofed = (await send('/predict', { 'x-forwarded-for': '203.0.113.7' })).body as Echo;
    expect(spoofed.headers['x-forwarded-for']).toBe('127.0.0.1');
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-xff-'));
    writeFileSync(
      join(dir, 'router.yaml'),
      `trustProxy: [127.0.0.1, '::1']\npools:\n  blue: { instances: [${blue.url}], version: v1 }\n`,
    );
    const behindProxy = await startTestRouter({}, join(dir, 'router.yaml'));
    try {
      const passed = (await send('/predict', { 'x-forwarded-for': '203.0.113.7' }, behindProxy.url)).body as Echo;
      expect(passed.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    } finally {
      await behindProxy.close();
    }
  });

  it('one client cannot hold every connection slot: past its share it is refused, and another client still gets in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardgate-conns-'));
    writeFileSync(
      join(dir, 'router.yaml'),
      `maxConnections: 40\nmaxConnectionsPerClient: 10\npools:\n  blue: { instances: [${blue.url}], version: v1 }\n`,
    );
    const capped = await startTestRouter({}, join(dir, 'router.yaml'));
    const { hostname, port } = new URL(capped.url);
    const sockets: Socket[] = [];
    try {
      // One client (127.0.0.1) opens 30 connections and sends nothing.
      const closed = await Promise.all(
        Array.from(
          { length: 30 },
          () =>
            new Promise<boolean>((resolve) => {
              const socket = connect({ host: hostname, port: Number(port), localAddress: '127.0.0.1' }, () =>
                setTimeout(() => resolve(socket.destroyed || socket.readyState !== 'open'), 300),
              );
              socket.on('error', () => resolve(true));
              socket.on('close', () => resolve(true));
              sockets.push(socket);
            }),
        ),
      );
      expect(closed.filter((c) => !c).length).toBe(10);
      // Another client (127.0.0.2) is served.
      const other = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: hostname, port: Number(port), localAddress: '127.0.0.2' }, () =>
          socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(other).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await capped.close();
    }
  });

  it('streams a large answer to a slow reader, intact (the router waits for it to read)', async () => {
    const total = 8_000_000;
    const response = await request(`${router.url}/large?bytes=${total}`, { dispatcher: client });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-guardgate-color']).toBe('blue');
    let received = 0;
    let wrong = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i += 997) if (chunk[i] !== (received + i) % 251) wrong++;
      received += chunk.length;
      if (received < 2_000_000) await new Promise((resolve) => setImmediate(resolve)); // a slow start: the router must wait for it
    }
    expect({ received, wrong }).toEqual({ received: total, wrong: 0 });
  });

  it('keeps an incoming trace id', async () => {
    const { body } = await send('/predict', { 'x-request-id': 'abc-123' });
    expect((body as Echo).headers['x-request-id']).toBe('abc-123');
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const withParent = await send('/predict', { traceparent: parent });
    expect((withParent.body as Echo).headers.traceparent).toBe(parent);
    expect((withParent.body as Echo).headers['x-request-id']).toBeUndefined();
  });

  it('spreads requests over the instances of the active color', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 10; i++) names.add((await send()).headers['x-upstream'] as string);
    expect(names).toEqual(new Set(['blue-1', 'blue-2']));
  });

  it('switches atomically: the next request goes to the new color; the one in flight finishes on the old', async () => {
    blue.delayMs = blue2.delayMs = 300;
    const inFlight = send();
    await until(() => blue.received.length + blue2.received.length === 1);
    const result = await router.router.switchTo('green');
    expect(result).toMatchObject({ previous: 'blue', active: 'green' });
    const next = await send();
    expect(next.headers['x-guardgate-color']).toBe('green');
    const old = await inFlight;
    expect(old.status).toBe(200);
    expect(old.headers['x-guardgate-color']).toBe('blue');
  });

  it("after a switch the old color's connections close once idle; the client's connection stays", async () => {
    // Concurrent slow requests open several data connections per instance (health checks hold one more).
    blue.delayMs = blue2.delayMs = 50;
    await Promise.all(Array.from({ length: 8 }, () => send()));
    expect(blue.openConnections()).toBeGreaterThan(2);
    await router.router.switchTo('green');
    await until(() => blue.openConnections() <= 1 && blue2.openConnections() <= 1);
    const after = await send(); // same client agent, same keep-alive socket to the router
    expect(after.status).toBe(200);
    expect(after.headers['x-guardgate-color']).toBe('green');
  });

  it('routes previews to the standby, by header (with the preview scope) or by the preview port', async () => {
    const withScope = await send('/predict', { 'x-guardgate-preview': '1', authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(withScope.headers['x-guardgate-color']).toBe('green');
    expect((await send('/predict', {}, router.previewUrl!)).headers['x-guardgate-color']).toBe('green');
    expect((await send()).headers['x-guardgate-color']).toBe('blue');
  });

  it('refuses the preview header from a client without the preview scope, and never reaches the standby', async () => {
    const anonymous = await send('/predict', { 'x-guardgate-preview': '1' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="guardgate"');
    expect((anonymous.body as { error: { code: string } }).error.code).toBe('unauthorized');
    const badToken = await send('/predict', { 'x-guardgate-preview': '1', authorization: 'Bearer not-a-valid-token' });
    expect(badToken.status).toBe(401);
    expect(green.received).toHaveLength(0);
  });

  it('splits by weight, sticky by a client header', async () => {
    await router.router.setWeights(50, 'x-user');
    const colors = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        send('/predict', { 'x-user': `u${i}` }).then((r) => r.headers['x-guardgate-color']),
      ),
    );
    expect(colors).toContain('green');
    expect(colors).toContain('blue');
    const again = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        send('/predict', { 'x-user': `u${i}` }).then((r) => r.headers['x-guardgate-color']),
      ),
    );
    expect(again).toEqual(colors);
  });

  it('mirrors live requests to the standby; the client gets only the active answer, without waiting', async () => {
    const pairs: MirrorPair[] = [];
    const unsubscribe = router.router.onMirrorPair((pair) => pairs.push(pair));
    await router.router.setMirror(1);
    green.delayMs = 400;
    const answer = await send();
    expect(answer.headers['x-guardgate-color']).toBe('blue');
    expect(pairs).toHaveLength(0); // answered before the standby did
    await until(() => pairs.length === 1);
    const [pair] = pairs;
    expect(pair!.active).toMatchObject({ color: 'blue', version: 'v1', status: 200 });
    expect(pair!.standby).toMatchObject({ color: 'green', version: 'v2', status: 200 });
    expect(JSON.parse(pair!.standby.body.toString()).name).toBe('green-1');
    expect(JSON.parse(pair!.active.body.toString()).name).toMatch(/^blue-/);
    // The copy carries the deployment's router secret: only then does an instance treat it as mirrored.
    expect(green.received[0]!.headers['x-guardgate-mirror']).toBe(ROUTER_SECRET);
    unsubscribe();
  });

  it('mirrors only what the active color served: a refused request never reaches the standby', async () => {
    const pairs: MirrorPair[] = [];
    const unsubscribe = router.router.onMirrorPair((pair) => pairs.push(pair));
    await router.router.setMirror(1);
    blue.status = blue2.status = 401;
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(401);
    blue.status = blue2.status = 200;
    expect((await send()).status).toBe(200);
    await until(() => pairs.length === 1);
    expect(green.received).toHaveLength(1);
    unsubscribe();
  });

  it('keeps the preview listener on loopback whatever the public host is', async () => {
    const open = await startTestRouter({ host: '0.0.0.0', green: green.url, previewPort: '0' });
    try {
      expect(new URL(open.url).hostname).toBe('0.0.0.0');
      expect(new URL(open.previewUrl!).hostname).toBe('127.0.0.1');
    } finally {
      await open.close();
    }
  });

  it('with failover: standby, serves live traffic from the healthy standby while the active color has none, and counts it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'guardgate-router-')), 'router.yaml');
    writeFileSync(file, 'failover: standby\n');
    const guarded = await startTestRouter({ blue: blue.url, green: green.url }, file);
    try {
      blue.ready = false;
      await until(() => guarded.router.pools.blue.healthyCount === 0);
      const served = await request(`${guarded.url}/predict`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      await served.body.text();
      expect(served.statusCode).toBe(200);
      expect(served.headers['x-guardgate-color']).toBe('green');
      const metrics = await (await fetch(`${guarded.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/guardgate_router_failover_requests_total 1/);
      blue.ready = true;
      await until(() => guarded.router.pools.blue.healthyCount === 1);
      const back = await request(`${guarded.url}/predict`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      await back.body.text();
      expect(back.headers['x-guardgate-color']).toBe('blue');
    } finally {
      await guarded.close();
    }
    // Off by default: the same outage is a 503 (tested above), never a silent switch.
  });

  it('drops mirror copies beyond the bounded queue, and counts them', async () => {
    await router.router.setMirror(1);
    // Copies held long enough that the 100 requests overlap them even on a slow machine.
    green.delayMs = 2_000;
    green.peakPending = 0;
    const before = await metric('guardgate_router_mirror_total{outcome="dropped"}');
    await Promise.all(Array.from({ length: 100 }, () => send()));
    const dropped = (await metric('guardgate_router_mirror_total{outcome="dropped"}')) - before;
    expect(dropped).toBeGreaterThan(0);
    // maxInFlight is 64: never more copies at once (more in all, when the first ones were answered meanwhile).
    expect(green.peakPending).toBeLessThanOrEqual(64);
    expect(green.peakPending).toBeGreaterThan(0);
    await until(() => green.pending === 0, 10_000, 'the held mirror copies answered');
  });

  it('ejects an instance that fails its checks and takes it back when it passes', async () => {
    blue.ready = false;
    await until(() => router.router.pools.blue.healthyCount === 1);
    for (let i = 0; i < 6; i++) expect((await send()).headers['x-upstream']).toBe('blue-2');
    // The status says why: what an operator asks first.
    expect(lastEjection(blue.url)).toMatchObject({ reason: 'GET /readyz answered 503', at: expect.any(String) });
    blue.ready = true;
    await until(() => router.router.pools.blue.healthyCount === 2);
  });

  it('never ejects an instance whose every check answers within the timeout, however much slower than the interval', async () => {
    // Checks every 100 ms, each answered in 300 ms (the timeout is 1 s): one at a time, not a queue that grows
    // until its checks time out waiting.
    blue.healthDelayMs = 300;
    const counts: number[] = [];
    const checksBefore = blue.healthChecks;
    const ejectionBefore = lastEjection(blue.url);
    const started = Date.now();
    // Watched for ten of its checks (about 3 s), sampled at every turn of the test's event loop.
    await until(
      () => {
        counts.push(router.router.pools.blue.healthyCount);
        return blue.healthChecks - checksBefore >= 10;
      },
      20_000,
      'ten checks of the slow instance answered',
    );
    expect(counts.filter((c) => c < 2).length).toBe(0);
    expect(lastEjection(blue.url)).toEqual(ejectionBefore);
    // One check at a time: ten took about 3 s, not the one second ten intervals would (checks queued).
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
  });

  it('keeps an instance whose checks time out while it answers live requests (busy, not gone); ejects it once it stops answering them', async () => {
    // Its checks take longer than the router waits for them (1 s here), as on a saturated machine.
    blue.healthDelayMs = 1_500;
    let served = 0;
    let failed = 0;
    let stop = false;
    const counts: number[] = [];
    const traffic = (async () => {
      while (!stop) {
        const answer = await send();
        if (answer.status === 200) served++;
        else failed++;
        counts.push(router.router.pools.blue.healthyCount);
        // Paced, not waiting for anything: a request every ~20 ms keeps live answers within each check's window.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // Until three checks have been sent, one at a time: the first two timed out (at 1 s; one failure ejects here).
    const checksBefore = blue.healthChecks;
    await until(() => blue.healthChecks - checksBefore >= 3, 20_000, 'three checks of the slow instance sent');
    stop = true;
    await traffic;
    expect({ failed, ejectedWhileServing: counts.filter((c) => c < 2).length }).toEqual({
      failed: 0,
      ejectedWhileServing: 0,
    });
    expect(served).toBeGreaterThan(20);
    // No live answers any more: the next check that times out ejects it.
    await until(() => router.router.pools.blue.healthyCount === 1, 10_000, 'the slow instance ejected once idle');
    expect(lastEjection(blue.url)?.reason).toBe(
      'GET /readyz timed out after 1000 ms, and no live request was answered meanwhile',
    );
    // An instance whose live answers are errors gets no such credit, traffic or not.
    blue.healthDelayMs = 0;
    await until(() => router.router.pools.blue.healthyCount === 2, 10_000, 'the instance back once its checks pass');
    blue.status = blue2.status = 500;
    blue.healthDelayMs = 1_500;
    const erring = setInterval(() => void send().catch(() => undefined), 20);
    try {
      await until(
        () => router.router.pools.blue.healthyCount === 1,
        10_000,
        'the slow instance that answers 500 ejected',
      );
    } finally {
      clearInterval(erring);
    }
  });

  it('with no healthy instance in the active color: 503 no_healthy_upstream with Retry-After, then recovery', async () => {
    blue.ready = blue2.ready = false;
    await until(() => router.router.pools.blue.healthyCount === 0);
    const down = await send();
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('1');
    expect((down.body as { error: { code: string } }).error.code).toBe('no_healthy_upstream');
    blue2.ready = true;
    await until(() => router.router.pools.blue.healthyCount === 1);
    expect((await send()).status).toBe(200);
  });

  it('retries a refused connection once on another instance of the same color', async () => {
    const doomed = await startUpstream('doomed');
    await router.router.setPool('blue', [doomed.url, blue2.url], 'v1');
    await doomed.close(); // connections to it are now refused, and the checks have not noticed yet
    const answers = await Promise.all(Array.from({ length: 6 }, () => send()));
    expect(answers.every((a) => a.status === 200 && a.headers['x-upstream'] === 'blue-2')).toBe(true);
    expect(await metric('guardgate_router_retries_total{color="blue",outcome="retried"}')).toBeGreaterThan(0);
    expect(lastEjection(doomed.url)?.reason).toBe("a request's connection failed: ECONNREFUSED");
    await router.router.setPool('blue', [blue.url, blue2.url], 'v1');
  });

  describe('admin API', () => {
    it('needs the token: 401 without or with a wrong one, saying no more than the code', async () => {
      expect((await admin(router, 'GET', '/admin/status', undefined, '')).status).toBe(401);
      const wrong = await admin(router, 'GET', '/admin/status', undefined, 'not-the-token-at-all');
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('unauthorized');
      expect(wrong.body.error.message).not.toMatch(/wrong|token was|expired|signature/i);
    });

    it('reports status, switches, and refuses a color with no healthy instance unless forced', async () => {
      const status = await admin(router, 'GET', '/admin/status');
      expect(status.body).toMatchObject({
        active: 'blue',
        standby: 'green',
        pools: { blue: { version: 'v1', healthy: 2 }, green: { version: 'v2', healthy: 1 } },
      });
      expect((await admin(router, 'POST', '/admin/switch', { color: 'green' })).body).toMatchObject({
        previous: 'blue',
        active: 'green',
      });
      expect((await admin(router, 'POST', '/admin/switch', { color: 'purple' })).status).toBe(400);
      green.ready = false;
      blue.ready = blue2.ready = false;
      await until(() => router.router.pools.blue.healthyCount === 0);
      const refused = await admin(router, 'POST', '/admin/switch', { color: 'blue' });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('switch_refused');
      expect((await admin(router, 'POST', '/admin/switch', { color: 'blue', force: true })).status).toBe(200);
    });

    it('sets weights, mirroring and pool membership, validating each', async () => {
      expect(
        (await admin(router, 'PUT', '/admin/weights', { standby: 10, stickyHeader: 'x-user' })).body,
      ).toMatchObject({ standbyWeight: 10, stickyHeader: 'x-user' });
      expect((await admin(router, 'PUT', '/admin/weights', { standby: 150 })).status).toBe(400);
      expect((await admin(router, 'PUT', '/admin/mirror', { fraction: 0.25 })).body.mirrorFraction).toBe(0.25);
      expect((await admin(router, 'PUT', '/admin/mirror', { fraction: 'lots' })).status).toBe(400);
      const extra = await startUpstream('green-2');
      const pool = await admin(router, 'PUT', '/admin/pools/green', {
        version: 'v3',
        instances: [green.url, extra.url],
      });
      expect(pool.body).toMatchObject({ version: 'v3', healthy: 2 });
      expect((await admin(router, 'PUT', '/admin/pools/green', { instances: ['not a url'] })).status).toBe(400);
      await router.router.setPool('green', [green.url], 'v2');
      await extra.close();
    });

    it('exposes metrics without the token', async () => {
      await send();
      const text = await (await fetch(`${router.adminUrl}/metrics`)).text();
      expect(text).toMatch(/guardgate_router_requests_total\{color="blue",reason="active",status_code="200"\} \d+/);
      expect(text).toMatch(/guardgate_router_switches_total\{to="green"\} \d+/);
      expect(text).toContain('guardgate_router_upstream_duration_seconds_bucket');
      expect(text).toMatch(/guardgate_router_active_color\{color="blue"\} 1/);
      expect(text).toMatch(/guardgate_router_ejections_total\{color="blue",cause="check"\} \d+/);
    });
  });

  async function metric(series: string): Promise<number> {
    const text = await (await fetch(`${router.adminUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(series));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }
});
