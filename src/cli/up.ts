// `guardgate up`: the main job. Router, admin API, controller and the active environment, until Ctrl-C.
import { Command } from 'commander';
import { pino } from 'pino';
import { startUp } from '../release/up.js';
import { closeOnSignals } from './signals.js';

interface UpFlags {
  host: string;
  port: string;
  adminPort: string;
  dataDir: string;
  logLevel: string;
}

export function upCommand(): Command {
  return new Command('up')
    .description('run Guardgate on this machine: the router on --port, the admin API, the controller and the active environment')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'public port: API and playground', '8080')
    .option('--admin-port <port>', 'admin API port (loopback)', '8081')
    .option('--data-dir <dir>', 'state, audit log and admin token', '.guardgate')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .action(async (flags: UpFlags) => {
      const log = pino({ level: flags.logLevel, base: { service: 'guardgate' } });
      const up = await startUp(
        {
          host: flags.host,
          port: Number(flags.port),
          adminPort: Number(flags.adminPort),
          dataDir: flags.dataDir,
          instanceEnv: process.env,
          logLevel: flags.logLevel === 'info' ? 'warn' : flags.logLevel,
        },
        log,
      );
      log.info({ url: up.url, adminUrl: up.adminUrl, adminTokenFile: up.tokenFile, active: (await up.controller.status()).active }, 'guardgate is up');
      process.stderr.write(
        [
          '',
          `  Guardgate is up.`,
          `  API and playground  ${up.url}/`,
          `  admin API           ${up.adminUrl}/admin/status`,
          `  admin token         ${up.tokenFile ?? 'GUARDGATE_ADMIN_TOKEN'}`,
          `  try                 curl -s ${up.url}/predict -H 'content-type: application/json' -d '{"prompt":"How can I kill a Python process?"}'`,
          `  release             guardgate release examples/lexicon-v2.yaml --wait`,
          '',
        ].join('\n') + '\n',
      );
      closeOnSignals(log, () => up.close());
    });
}
