import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LocalDriver } from '../../src/drivers/local.js';
import { runDriverContract } from './driver-contract.js';

runDriverContract('local', async () => {
  const driver = new LocalDriver(
    {
      dataDir: mkdtempSync(join(tmpdir(), 'guardgate-driver-')),
      readyTimeoutMs: 15_000,
      stopTimeoutMs: 3_000,
      crashLoopLimit: 3,
      crashWindowMs: 30_000,
      env: process.env,
      logLevel: 'warn',
    },
    pino({ level: 'silent' }),
  );
  return { driver, kill: (color, index) => process.kill(driver.pids(color)[index]!, 'SIGKILL') };
});
