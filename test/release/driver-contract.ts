// The one contract every driver passes (local now; Kubernetes later).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver, EnvironmentSpec } from '../../src/drivers/driver.js';
import { DeployError } from '../../src/drivers/driver.js';
import type { EngineSpec } from '../../src/config/engine.js';
import { until } from '../helpers/router.js';

const spec = (overrides: Partial<EnvironmentSpec> = {}): EnvironmentSpec => ({
  color: 'green',
  version: 'contract-v1',
  engine: { kind: 'lexicon' },
  policy: 'strict',
  replicas: 2,
  ...overrides,
});

const predict = async (url: string) => {
  const response = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'hello' }),
  });
  return (await response.json()) as { version: string; color: string };
};

const refused = async (url: string) =>
  fetch(`${url}/healthz`).then(
    () => false,
    () => true,
  );

export function runDriverContract(
  name: string,
  setup: () => Promise<{ driver: Driver; kill?: (color: 'blue' | 'green', index: number) => void }>,
): void {
  describe(`driver contract: ${name}`, () => {
    let fixture: Awaited<ReturnType<typeof setup>>;
    beforeAll(async () => {
      fixture = await setup();
    });
    afterAll(async () => fixture.driver.close());

    it('deploys an environment whose every instance is ready and serves its version and color', async () => {
      const deployment = await fixture.driver.deploy(spec());
      expect(deployment).toMatchObject({ color: 'green', version: 'contract-v1', replicas: 2 });
      expect(deployment.instances).toHaveLength(2);
      for (const instance of deployment.instances) {
        expect(instance.state).toBe('ready');
        expect(await predict(instance.url)).toMatchObject({ version: 'contract-v1', color: 'green' });
      }
    });

    it('scales up (new instances ready) and down (removed instances stopped)', async () => {
      const up = await fixture.driver.scale('green', 3);
      expect(up.instances.filter((i) => i.state === 'ready')).toHaveLength(3);
      const removed = up.instances[2]!.url;
      const down = await fixture.driver.scale('green', 1);
      expect(down.instances).toHaveLength(1);
      expect(await refused(removed)).toBe(true);
    });

    it('keeps restarting a deployed instance that crashes again and again: no final give-up', async (context) => {
      if (fixture.kill === undefined) context.skip(`${name} cannot kill an instance from a test`);
      const instance = () => fixture.driver.describe('green')!.instances[0]!;
      for (let kill = 1; kill <= 4; kill++) {
        const before = instance().restarts;
        fixture.kill!('green', 0);
        await until(
          () => instance().restarts > before && instance().state === 'ready',
          30_000,
          `the instance back and ready after kill ${kill}`,
        );
      }
      expect(await predict(instance().url)).toMatchObject({ version: 'contract-v1' });
    }, 90_000);

    it('restarts an instance that dies', async (context) => {
      if (fixture.kill === undefined) context.skip(`${name} cannot kill an instance from a test`);
      const restarted = () => fixture.driver.describe('green')!.instances[0]!;
      const before = restarted().restarts;
      fixture.kill!('green', 0);
      await until(
        () => restarted().restarts > before && restarted().state === 'ready',
        15_000,
        'the killed instance restarted and ready',
      );
      const after = fixture.driver.describe('green')!;
      expect(after.instances[0]!.restarts).toBeGreaterThan(before);
      expect(await predict(after.instances[0]!.url)).toMatchObject({ version: 'contract-v1' });
    });

    it('tears an environment down: nothing answers and nothing is left', async () => {
      const urls = fixture.driver.describe('green')!.instances.map((i) => i.url);
      await fixture.driver.teardown('green');
      expect(fixture.driver.describe('green')).toBeNull();
      for (const url of urls) expect(await refused(url)).toBe(true);
    });

    it('fails a deploy whose instances crash in a loop, and leaves nothing behind', async () => {
      const broken = spec({
        color: 'blue',
        engine: { kind: 'openai', baseUrl: 'not a url' } as unknown as EngineSpec,
        replicas: 1,
      });
      await expect(fixture.driver.deploy(broken)).rejects.toBeInstanceOf(DeployError);
      expect(fixture.driver.describe('blue')).toBeNull();
    });
  });
}
