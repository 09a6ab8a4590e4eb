// Every verdict served is audited exactly once, also when the instance is killed with kill -9 under load: a
// verdict is answered only once its record is in the local journal, and what a killed instance journaled is
// replayed to the store by the next instance on the same data directory.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { tempDataDir } from '../helpers/instance.js';
import { until } from '../helpers/router.js';
import { startIdentifiedLoad } from '../helpers/load.js';

async function startServe(dataDir: string): Promise<{ cli: CliProcess; url: string }> {
  const cli = runCli(['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
    GUARDGATE_AUDIT_TEXT: 'none',
  });
  const { url } = (await cli.logLine('guardgate instance listening')) as { url: string };
  await until(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000, 'the instance ready');
  return { cli, url };
}

describe('audit under kill -9', () => {
  it('instances killed under load: every verdict answered is in the store exactly once after the next start', async () => {
    const dataDir = tempDataDir();
    const served: string[] = [];
    for (let round = 0; round < 3; round++) {
      const { cli, url } = await startServe(dataDir);
      const before = served.length;
      const load = startIdentifiedLoad(url, `kill-${round}`, served); // a request cut by the kill is not served
      await until(() => served.length > before + 500 + round * 300, 30_000, `500 verdicts served in round ${round}`);
      cli.child.kill('SIGKILL');
      await cli.exited;
      await load.stop();
    }
    // The next instance on this data directory replays what the killed ones journaled; then it stops cleanly.
    const { cli } = await startServe(dataDir);
    const count = () => {
      const db = new Database(join(dataDir, 'audit.sqlite'), { readonly: true });
      try {
        return db.prepare('SELECT trace_id, count(*) AS n FROM guardgate_audit GROUP BY trace_id').all() as Array<{
          trace_id: string;
          n: number;
        }>;
      } finally {
        db.close();
      }
    };
    const servedSet = new Set(served);
    await until(
      () => count().filter((r) => servedSet.has(r.trace_id)).length === served.length,
      20_000,
      'every served verdict in the store',
    ).catch(() => undefined);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const rows = count();
    const counts = new Map(rows.map((r) => [r.trace_id, r.n]));
    const missing = served.filter((id) => !counts.has(id));
    const doubled = rows.filter((r) => r.n !== 1);
    expect({
      served: served.length,
      missing: missing.length,
      doubled: doubled.length,
      example: missing.slice(0, 3),
    }).toEqual({ served: served.length, missing: 0, doubled: 0, example: [] });
    expect(readdirSync(join(dataDir, 'audit-spool')).filter((f) => !f.endsWith('.bad'))).toEqual([]);
  }, 120_000);
});
