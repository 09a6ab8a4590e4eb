#!/usr/bin/env node
// The `guardgate` command: parses, calls the parts, prints. Exit codes are in exit-codes.ts.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { DataDirInUse } from '../app/data-dir-lock.js';
import { GuardgateError } from '../vocabulary/errors.js';
import { BUILD } from '../shared/build.js';
import { EXIT } from './exit-codes.js';
import { auditCommand } from './audit.js';
import { CliExit } from './client.js';
import { releaseCommands } from './release.js';
import { upCommand } from './up.js';
import { benchCommand, validateCommand } from './validate.js';
import { routerCommand } from './router.js';
import { serveCommand } from './serve.js';
import { keysCommand } from './keys.js';
import { gatesCommand } from './gates.js';
import { k8sCommand } from './k8s.js';
import { credentialsCommand } from './credentials.js';
import { modelCommand } from './model.js';

const program = new Command()
  .name('guardgate')
  .description('Serve Qwen3Guard-Gen safety moderation behind one stable front door, upgraded blue-green.')
  .version(BUILD.version, '-V, --version', 'print the version')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

const demo = new Command('demo')
  .description('a release under live load, a switch and a rollback, then the failed-request count')
  .option('--spec <file>', 'release this spec instead of examples/lexicon-v2.yaml')
  .action(async (flags: { spec?: string }) => {
    const { runDemo } = await import('./demo.js');
    process.exitCode = await runDemo(flags.spec);
  });

for (const command of [
  upCommand(),
  demo,
  serveCommand(),
  routerCommand(),
  ...releaseCommands(),
  validateCommand(),
  benchCommand(),
  auditCommand(),
  keysCommand(),
  gatesCommand(),
  k8sCommand(),
  credentialsCommand(),
  modelCommand(),
]) {
  program.addCommand(command.copyInheritedSettings(program));
  for (const sub of command.commands) sub.copyInheritedSettings(program);
}

/** With --json, failures are JSON on stdout too ({"error": {"code", "message"}}), with the same exit codes. */
const json = process.argv.includes('--json');
const fail = (exitCode: number, code: string, message: string): void => {
  process.exitCode = exitCode;
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`guardgate: ${message}\n`);
};
const isAddressInUse = (error: unknown): error is NodeJS.ErrnoException & { port: number; address: string } =>
  (error as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';
const exitName = (exitCode: number): string =>
  Object.entries(EXIT).find(([, value]) => value === exitCode)?.[0] ?? 'failure';

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliExit) fail(error.code, error.errorCode ?? exitName(error.code), error.message);
  else if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (json && error.exitCode !== 0)
      process.stdout.write(`${JSON.stringify({ error: { code: 'usage', message: error.message } })}\n`);
  } else if (error instanceof ConfigError) fail(EXIT.usage, 'invalid_config', error.message);
  else if (error instanceof DataDirInUse) fail(EXIT.failure, 'data_dir_in_use', error.message);
  else if (isAddressInUse(error))
    fail(
      EXIT.failure,
      'port_in_use',
      `port ${error.port} on ${error.address} is in use: is guardgate up already running? (--port and --admin-port choose others)`,
    );
  else if (error instanceof GuardgateError && error.status < 500) fail(EXIT.usage, error.code, error.message);
  else if (error instanceof GuardgateError) fail(EXIT.failure, error.code, error.message);
  else fail(EXIT.failure, 'internal', `unexpected failure: ${(error as Error).message ?? String(error)}`);
}
// A command that failed ends: whatever it had started is closed, and nothing left over may keep it waiting.
if (process.exitCode !== undefined && process.exitCode !== 0) setTimeout(() => process.exit(), 2_000).unref();
