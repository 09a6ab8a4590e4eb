// `guardgate serve`: one moderation instance, until SIGTERM or SIGINT.
import { Command } from 'commander';
import type { InstanceFlags } from '../config/instance.js';
import { logFormatOf } from '../shared/logger.js';
import { closeOnSignals, exitWithParent } from './signals.js';

/** `guardgate serve`: one instance. */
export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'run one moderation instance: /predict, /v1/moderations, the playground, /healthz, /readyz, /metrics, /version',
    )
    .option('-c, --config <file>', 'YAML configuration file (also GUARDGATE_CONFIG)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('-p, --port <port>', 'port to listen on (default 8080; 0 picks a free one)')
    .option(
      '-e, --engine <kind>',
      'lexicon (embedded rules, the default), openai (a vLLM/SGLang server) or llamacpp (a GGUF file on this machine)',
    )
    .option('--engine-url <url>', 'openai engine: the server base URL with /v1, e.g. http://127.0.0.1:8000/v1')
    .option(
      '--engine-model <name>',
      "openai engine: the served model name (default Qwen/Qwen3Guard-Gen-4B); llamacpp: a GGUF path or a pulled model's name",
    )
    .option('--color <color>', 'blue or green: the environment this instance belongs to')
    .option('--service-version <label>', 'the deployed version label reported in every verdict')
    .option('--data-dir <dir>', 'where the SQLite audit log and its spool live (default .guardgate)')
    .option('--policy <policy>', 'strict (Controversial is flagged, the default) or loose')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--api-keys <file>', 'require API keys from this file (guardgate keys add --file); see docs/security.md')
    .option('--insecure', 'serve /predict without credentials on a non-loopback --host')
    .action(async (flags: InstanceFlags) => {
      // Started by the local driver: never outlive the controller that supervises us, even while starting.
      const parent = Number(process.env.GUARDGATE_PARENT_PID);
      let stop: () => Promise<void> = async () => undefined;
      if (parent > 0) exitWithParent(parent, () => stop());
      // Loaded when the command runs: every other command starts without the instance's modules.
      const { loadInstanceConfig } = await import('../config/instance.js');
      const { startInstance } = await import('../instance/run.js');
      const config = loadInstanceConfig(
        { ...flags, logFormat: logFormatOf(process.env, process.stdout.isTTY === true) },
        process.env,
      );
      const instance = await startInstance(config);
      stop = () => instance.shutdown();
      instance.app.log.info(
        { url: instance.url, engine: instance.moderator.engine.info },
        'guardgate instance listening',
      );
      closeOnSignals(instance.app.log, () => instance.shutdown());
    });
}
