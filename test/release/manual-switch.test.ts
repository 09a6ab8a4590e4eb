// A manual switch is part of the change record: it is in the history with its actor, and the color it makes
// active is never shown as "kept until" a retire time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningUp } from '../../src/app/up.js';
import { runCli } from '../helpers/cli.js';
import { quickSpec, startTestUp } from '../helpers/up.js';

describe('manual switches', () => {
  let up: RunningUp & { dataDir: string };
  beforeAll(async () => {
    up = await startTestUp();
  });
  afterAll(async () => up?.close());

  it('a switch back to the kept color is recorded with its actor, and that color is not "kept until" anything', async () => {
    await up.controller.release(
      quickSpec({
        version: 'v2',
        gates: {
          functional: { enabled: false },
          load: { enabled: false },
          shadow: { enabled: false },
          watch: { enabled: false },
        },
      }),
    );
    await up.controller.settled();
    const before = await up.controller.status();
    expect(before.active).toBe('green');
    expect(before.environments.blue!.retireAt).not.toBeNull(); // kept for an instant rollback
    const switched = await fetch(`${up.adminUrl}/admin/switch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${up.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ color: 'blue' }),
    });
    expect(switched.status).toBe(200);
    const after = await up.controller.status();
    expect(after.active).toBe('blue');
    expect(after.environments.blue!.retireAt).toBeNull();
    const history = runCli(['history', '--data-dir', up.dataDir]);
    expect(await history.exited).toBe(0);
    expect(history.stdout()).toMatch(/manual switch green → blue by admin_token:admin/);
    const json = runCli(['history', '--data-dir', up.dataDir, '--json']);
    expect(await json.exited).toBe(0);
    expect(JSON.parse(json.stdout()).actions[0]).toMatchObject({
      actor: 'admin_token:admin',
      action: 'switch',
      detail: { from: 'green', to: 'blue', forced: false },
    });
  });
});
