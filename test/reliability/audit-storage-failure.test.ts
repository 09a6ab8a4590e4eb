// The audit log survives its storage failing under load: the data directory made immutable (chattr +i,
// which root cannot write through), then writable again. The instance process stays up, every 2xx verdict
// ends up in the store exactly once, and nothing is left in the spool.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { startIdentifiedLoad } from '../helpers/load.js';
import { requireService } from '../helpers/services.js';

/** Can this machine make a directory immutable (root, a filesystem with the flag)? */
function chattrWorks(): boolean {
  const dir = tempDataDir();
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const chattr = (flag: '+i' | '-i', dir: string) => execFileSync('chattr', ['-R', flag, dir], { stdio: 'ignore' });

describe('audit storage failure under load', () => {
  it('data directory immutable, then writable again: the process stays up and every 2xx verdict is audited exactly once', async (context) => {
    if (
      !requireService(chattrWorks(), 'chattr (root on a filesystem with the immutable flag)', (note) =>
        context.skip(note),
      )
    )
      return;
    const dataDir = tempDataDir();
    const cli = runCli(['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
      GUARDGATE_AUDIT_TEXT: 'none',
    });
    const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
    await until(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000);
    const load = startIdentifiedLoad(url, 'storage');
    const { served, failed } = load;
    try {
      await until(() => served.length > 300, 20_000);
      chattr('+i', dataDir);
      const atFailure = served.length;
      await until(() => served.length > atFailure + 1_000, 30_000).catch((error: Error) => {
        throw new Error(
          `${error.message}: served ${served.length - atFailure} after the failure, ${failed.length} failed (${failed.slice(0, 3).join('; ')}), process ${cli.child.exitCode ?? cli.child.signalCode ?? 'running'}; stderr ${cli.stderr().slice(-500)}`,
        );
      });
      chattr('-i', dataDir);
      const atRecovery = served.length;
      await until(() => served.length > atRecovery + 300, 20_000);
    } finally {
      chattr('-i', dataDir);
      await load.stop();
    }
    expect(failed).toEqual([]);
    expect(cli.child.exitCode).toBeNull(); // still running: no SIGBUS, no crash
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const db = new Database(join(dataDir, 'audit.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT trace_id, count(*) AS n FROM guardgate_audit GROUP BY trace_id').all() as Array<{
      trace_id: string;
      n: number;
    }>;
    db.close();
    const counts = new Map(rows.map((r) => [r.trace_id, r.n]));
    const missing = served.filter((id) => !counts.has(id));
    const doubled = rows.filter((r) => r.n !== 1);
    expect({ served: served.length, missing: missing.length, doubled: doubled.length }).toEqual({
      served: served.length,
      missing: 0,
      doubled: 0,
    });
    expect(rows.length).toBe(served.length);
    expect(readdirSync(join(dataDir, 'audit-spool')).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  });

  it('with storage failing longer than memory may hold, verdicts that could not be audited are refused (503), the instance is not ready, and it recovers', async (context) => {
    if (
      !requireService(chattrWorks(), 'chattr (root on a filesystem with the immutable flag)', (note) =>
        context.skip(note),
      )
    )
      return;
    const dataDir = tempDataDir();
    const config = join(tempDataDir(), 'instance.yaml');
    writeFileSync(config, 'audit:\n  maxHeld: 40\n  bufferSize: 20\n');
    const cli = runCli(['serve', '--port', '0', '--data-dir', dataDir, '--config', config, '--log-level', 'info']);
    const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
    try {
      const ask = async (i: number) => {
        const response = await fetch(`${url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `held-${i}` },
          body: JSON.stringify({ prompt: `q ${i}` }),
        });
        return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
      };
      await until(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000);
      chattr('+i', dataDir);
      const served: number[] = [];
      let refused: { status: number; body: { error?: { code: string } } } | undefined;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        const answer = await ask(i);
        if (answer.status === 200) served.push(i);
        else refused = answer;
      }
      expect(refused).toEqual({
        status: 503,
        body: { error: { code: 'audit_unavailable', message: expect.any(String) } },
      });
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
      chattr('-i', dataDir);
      await until(async () => (await fetch(`${url}/readyz`)).status === 200, 15_000);
      expect((await ask(1_000)).status).toBe(200);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      const db = new Database(join(dataDir, 'audit.sqlite'), { readonly: true });
      const ids = new Set(
        (db.prepare('SELECT trace_id FROM guardgate_audit').all() as Array<{ trace_id: string }>).map(
          (r) => r.trace_id,
        ),
      );
      db.close();
      expect(served.filter((i) => !ids.has(`held-${i}`))).toEqual([]);
      expect(ids.has('held-1000')).toBe(true);
    } finally {
      chattr('-i', dataDir);
      cli.child.kill('SIGKILL');
    }
  });
});
