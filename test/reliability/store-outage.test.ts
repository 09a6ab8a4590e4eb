// The controller's database going away mid-release leaves nothing stuck: the admin API answers from memory
// (marked degraded), live traffic is untouched, the release fails once the outage outlasts the bound, and it
// is recorded as aborted, with the outage as evidence, when the database is back; the next release can start.
import { afterAll, describe, expect, it } from 'vitest';
import {
  POSTGRES_URL,
  dropSchema,
  postgresReachable,
  requireService,
  startCuttableProxy,
  testSchema,
  type CuttableProxy,
} from '../helpers/services.js';
import { until } from '../helpers/router.js';
import { predict, quickSpec, startTestUp } from '../helpers/up.js';

describe('a store outage during a release', () => {
  const schema = testSchema();
  let proxy: CuttableProxy | undefined;
  afterAll(async () => {
    proxy?.restore();
    await proxy?.close();
    if (await postgresReachable()) await dropSchema(schema);
  });

  it('answers from memory, fails the release after the bound, records it when the store is back', async (context) => {
    if (!requireService(await postgresReachable(), `PostgreSQL at ${POSTGRES_URL}`, (note) => context.skip(note)))
      return;
    const target = new URL(POSTGRES_URL);
    proxy = await startCuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const up = await startTestUp(undefined, {
      DATABASE_URL: proxy.url(POSTGRES_URL),
      GUARDGATE_CONTROLLER_SCHEMA: schema,
      GUARDGATE_AUDIT_SCHEMA: schema,
      GUARDGATE_STORE_OUTAGE_SECONDS: '3',
    });
    try {
      const admin = async (path: string) => {
        const response = await fetch(`${up.adminUrl}${path}`, {
          headers: { authorization: `Bearer ${up.token}` },
          signal: AbortSignal.timeout(5_000),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const spec = quickSpec({
        version: 'outage-v2',
        gates: {
          functional: { enabled: false },
          load: { enabled: false },
          shadow: { durationSeconds: 6, samples: 100_000, minSamples: 0 },
          watch: { enabled: false },
        },
      });
      await up.controller.release(spec);
      await until(() => up.controller.progress?.step === 'shadow gate', 30_000);
      proxy.cut();
      // The data path does not need the store.
      for (let i = 0; i < 10; i++) expect((await predict(up.url)).status).toBe(200);
      // The admin API answers at once, from memory, and says so.
      await until(async () => (await admin('/admin/controller')).body.degraded !== undefined, 20_000);
      const degraded = await admin('/admin/controller');
      expect(degraded.status).toBe(200);
      expect(degraded.body).toMatchObject({ active: 'blue', degraded: { since: expect.any(String) } });
      // The pipeline gives up after the bound and puts traffic where the durable record says (it waits to
      // write the release's end until the store is back).
      await until(() => up.controller.progress === null && up.driver.describe('green') === null, 30_000);
      expect(up.router.router.active).toBe('blue');
      proxy.restore();
      await until(async () => {
        const { body } = await admin('/admin/controller');
        return body.degraded === undefined && body.release?.state === 'aborted';
      }, 30_000);
      const { body } = await admin('/admin/controller');
      expect(body.release.note).toMatch(/store was unreachable/);
      expect(body.release.transitions.at(-1).evidence).toMatchObject({
        outage: { error: expect.stringMatching(/unreachable/) },
      });
      // Nothing is stuck: the next release starts.
      const next = await up.controller.release(
        quickSpec({
          version: 'outage-v3',
          gates: {
            functional: { enabled: false },
            load: { enabled: false },
            shadow: { enabled: false },
            watch: { enabled: false },
          },
        }),
      );
      expect(next.state).toBe('deploying');
      await up.controller.settled();
      expect((await up.controller.status()).release).toMatchObject({ version: 'outage-v3', state: 'stable' });
    } finally {
      proxy.restore();
      await up.close();
    }
  });
});
