// `guardgate router`: the stable front door on its own, until SIGTERM or SIGINT.
import { Command } from 'commander';
import { createLogger, logFormatOf } from '../shared/logger.js';
import { resolveAdminToken } from '../config/admin-token.js';
import type { RouterFlags } from '../config/router.js';
import { closeOnSignals } from './signals.js';

/** `guardgate router`: the front door on its own. */
export function routerCommand(): Command {
  return new Command('router')
    .description('run the router: the stable front door that switches traffic between the blue and green environments')
    .option('-c, --config <file>', 'YAML configuration file (also GUARDGATE_ROUTER_CONFIG)')
    .option('--host <host>', 'public address (default 127.0.0.1)')
    .option('-p, --port <port>', 'public port (default 8080)')
    .option('--preview-port <port>', 'a second port whose requests all go to the standby color')
    .option('--admin-host <host>', 'admin API address (default 127.0.0.1)')
    .option('--admin-port <port>', 'admin API port (default 8081)')
    .option(
      '--admin-token <token>',
      'admin API bearer token (also GUARDGATE_ADMIN_TOKEN; default: made and kept in the data directory)',
    )
    .option('--data-dir <dir>', 'where the admin token is kept (default .guardgate)')
    .option('--active <color>', 'the color that takes traffic at start (default blue)')
    .option('--blue <urls>', 'comma-separated instance URLs of the blue environment')
    .option('--green <urls>', 'comma-separated instance URLs of the green environment')
    .option('--blue-version <label>', 'version label of the blue environment (x-guardgate-version)')
    .option('--green-version <label>', 'version label of the green environment')
    .option('--tls-cert <file>', 'PEM certificate for HTTPS on the public port (reloaded when it changes)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--workers <n>', 'router processes serving traffic on the one port (node:cluster; default 1)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .action(async (flags: RouterFlags) => {
      const { loadRouterConfig } = await import('../config/router.js');
      const config = loadRouterConfig(flags, process.env);
      const log = createLogger(
        { level: config.logLevel, base: { service: 'guardgate-router' } },
        logFormatOf(process.env, process.stdout.isTTY === true),
      );
      const { token, file } = resolveAdminToken(config.admin.token, config.dataDir);
      const { startRouterProcesses } = await import('../router/run.js');
      const { openAuditReader } = await import('../store/open.js');
      const audit = await openAuditReader({
        databaseUrl: process.env.DATABASE_URL,
        schema: process.env.GUARDGATE_AUDIT_SCHEMA,
        dataDir: config.dataDir,
      });
      const running = await startRouterProcesses(
        config,
        config.auth,
        { ...config.admin, token },
        log,
        { workers: config.workers, logLevel: config.logLevel },
        { audit },
      );
      log.info(
        { url: running.url, previewUrl: running.previewUrl, adminUrl: running.adminUrl, adminTokenFile: file },
        'guardgate router ready',
      );
      closeOnSignals(log, () => running.close());
    });
}
