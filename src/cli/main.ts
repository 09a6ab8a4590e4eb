#!/usr/bin/env node
// The `guardgate` command: parses, calls the parts, prints. Exit codes are in exit-codes.ts.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { GuardgateError } from '../moderation/errors.js';
import { BUILD } from '../instance/build.js';
import { EXIT } from './exit-codes.js';
import { auditCommand } from './audit.js';
import { CliExit } from './client.js';
import { releaseCommands } from './release.js';
import { upCommand } from './up.js';
import { runDemo } from './demo.js';
import { benchCommand, validateCommand } from './validate.js';
import { routerCommand } from './router.js';
import { serveCommand } from './serve.js';
import { keysCommand } from './keys.js';

const program = new Command()
  .name('guardgate')
  .description('Serve Qwen3Guard-Gen safety moderation behind one stable front door, upgraded blue-green.')
  .version(BUILD.version, '-V, --build-version', 'print the build version')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

const demo = new Command('demo').description('a release under live load, a switch and a rollback, then the failed-request count').action(async () => {
  process.exitCode = await runDemo();
});

for (const command of [upCommand(), demo, serveCommand(), routerCommand(), ...releaseCommands(), validateCommand(), benchCommand(), auditCommand(), keysCommand()]) program.addCommand(command.copyInheritedSettings(program));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliExit) {
    process.stderr.write(`guardgate: ${error.message}\n`);
    process.exitCode = error.code;
  } else if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof ConfigError || (error instanceof GuardgateError && error.status < 500)) {
    process.stderr.write(`guardgate: ${error.message}\n`);
    process.exitCode = EXIT.usage;
  } else {
    process.stderr.write(`guardgate: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.failure;
  }
}
