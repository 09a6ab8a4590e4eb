// `guardgate gates serve`: the gate runner on its own (POST /admin/gates/run), for Argo Rollouts'
// AnalysisTemplates; `guardgate gates run`: ask a controller or runner to run gates, exit 3 when they fail.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { createLogger, logFormatOf } from '../shared/logger.js';
import { CliExit, adminClient } from './client.js';
import { EXIT } from './exit-codes.js';
import { collect, httpUrl } from './flags.js';
import { closeOnSignals } from './signals.js';

function serve(): Command {
  return new Command('serve')
    .description(
      'run the gate runner: POST /admin/gates/run against the live and preview Services (admin token: GUARDGATE_ADMIN_TOKEN)',
    )
    .requiredOption('--live <url>', 'the live Service (Argo Rollouts: the activeService), e.g. http://guardgate')
    .requiredOption(
      '--preview <url>',
      'the candidate (Argo Rollouts: the previewService), e.g. http://guardgate-preview',
    )
    .option('--allow <url>', 'another endpoint callers may name by URL (repeatable)', collect, [])
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on', '8090')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .option(
      '--ca <file>',
      "PEM of a private CA the endpoints' certificates come from: gate requests trust it (repeatable)",
      collect,
      [],
    )
    .action(
      async (flags: {
        live: string;
        preview: string;
        allow: string[];
        host: string;
        port: string;
        logLevel: string;
        ca: string[];
      }) => {
        const adminToken = process.env.GUARDGATE_ADMIN_TOKEN;
        if (adminToken === undefined || adminToken.length < 16)
          throw new CliExit(
            EXIT.usage,
            'set GUARDGATE_ADMIN_TOKEN (at least 16 characters): callers present it, and the instances accept it for gate traffic',
          );
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 0 || port > 65_535)
          throw new CliExit(EXIT.usage, `--port takes a port number (got ${flags.port.slice(0, 20)})`);
        const log = createLogger(
          { level: flags.logLevel, base: { service: 'guardgate-gates' } },
          logFormatOf(process.env, process.stdout.isTTY === true),
        );
        const { startGateServer } = await import('../gates/server.js');
        const { upStoresFrom } = await import('../config/up-stores.js');
        const running = await startGateServer(
          {
            live: httpUrl('--live', flags.live),
            preview: httpUrl('--preview', flags.preview),
            allow: flags.allow.map((url) => httpUrl('--allow', url)),
            adminToken,
            host: flags.host,
            port,
            auditText: upStoresFrom(process.env).auditText,
            trust: flags.ca.length === 0 ? undefined : () => flags.ca.map((file) => readFileSync(file, 'utf8')),
          },
          log,
        );
        log.info({ url: running.url, live: flags.live, preview: flags.preview }, 'guardgate gate runner listening');
        closeOnSignals(log, () => running.close());
      },
    );
}

function run(): Command {
  return new Command('run')
    .description('run gates now through a controller or gate runner (exit 0 passed, 3 failed, 5 unreachable)')
    .argument('<gates...>', 'functional, load and/or shadow')
    .option('--candidate <endpoint>', 'preview (default), live, or a URL of the deployment', 'preview')
    .option('--baseline <endpoint>', 'live (default), preview, or a URL of the deployment', 'live')
    .option('--data-dir <dir>', 'the data directory of guardgate up', process.env.GUARDGATE_DATA_DIR ?? '.guardgate')
    .option('--admin-url <url>', 'the admin API (or gate runner) URL (also GUARDGATE_ADMIN_URL)')
    .option('--json', 'print the answer as JSON')
    .action(
      async (
        gates: string[],
        flags: { candidate: string; baseline: string; dataDir: string; adminUrl?: string; json?: boolean },
      ) => {
        const client = adminClient(flags);
        const answer = await client.call<{
          pass: boolean;
          gates: Array<{ gate: string; passed: boolean; inconclusive?: boolean; summary: string }>;
        }>('POST', '/admin/gates/run', {
          gates,
          candidate: flags.candidate,
          baseline: flags.baseline,
        });
        if (flags.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        else
          for (const g of answer.gates)
            process.stdout.write(
              `${g.passed ? 'PASS' : g.inconclusive ? 'INCONCLUSIVE' : 'FAIL'} ${g.gate}: ${g.summary}\n`,
            );
        if (!answer.pass) process.exitCode = EXIT.gateFailed;
      },
    );
}

/** `guardgate gates serve|run`. */
export function gatesCommand(): Command {
  return new Command('gates')
    .description('the pre-switch gates on demand (Argo Rollouts analysis, pipelines)')
    .addCommand(serve())
    .addCommand(run());
}
