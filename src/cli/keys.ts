// `guardgate keys`: API keys for simple setups. `add` prints the key once; only its SHA-256 is kept,
// in the data directory's api-keys.json (what `up` reads) or the file named by --file.
import { join } from 'node:path';
import { Command } from 'commander';
import { isScope, SCOPES, type Scope } from '../auth/principal.js';
import { ConfigError } from '../config/load.js';
import { CliExit } from './client.js';
import { EXIT } from './exit-codes.js';

interface KeyFlags {
  dataDir?: string;
  file?: string;
  scopes?: string;
  json?: boolean;
}

const keyFile = (flags: KeyFlags): string =>
  flags.file ??
  process.env.GUARDGATE_API_KEYS_FILE ??
  join(flags.dataDir ?? process.env.GUARDGATE_DATA_DIR ?? '.guardgate', 'api-keys.json');

function parseScopes(text: string): Scope[] {
  const scopes = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0 || scopes.length === 0)
    throw new ConfigError(
      `--scopes takes moderate, preview, metrics and admin, comma-separated (got ${text.slice(0, 100)})`,
    );
  return scopes as Scope[];
}

const withFileOptions = (command: Command): Command =>
  command
    .option('--data-dir <dir>', 'the data directory of guardgate up (default .guardgate; also GUARDGATE_DATA_DIR)')
    .option('--file <file>', 'the key file instead (also GUARDGATE_API_KEYS_FILE)');

/** `guardgate keys add|list|revoke`. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'API keys for /predict and /v1/moderations (and preview, metrics or admin): add, list, revoke',
  );
  keys.addCommand(
    withFileOptions(new Command('add'))
      .description('make a key and print it once (only its SHA-256 is stored)')
      .argument('<name>', 'who or what the key is for: letters, digits, _ . @ -')
      .option('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, 'moderate')
      .option('--json', 'print {"name","key","scopes"}')
      .action(async (name: string, flags: KeyFlags) => {
        const scopes = parseScopes(flags.scopes ?? 'moderate');
        const file = keyFile(flags);
        const { addApiKey } = await import('../auth/api-keys.js');
        const key = addApiKey(file, name, scopes);
        if (flags.json) process.stdout.write(`${JSON.stringify({ name, key, scopes, file })}\n`);
        else process.stdout.write(`${key}\n`);
        if (!flags.json)
          process.stderr.write(
            `key ${name} (${scopes.join(', ')}) added to ${file}; it is shown only now. Send it as Authorization: Bearer <key>.\n`,
          );
      }),
  );
  keys.addCommand(
    withFileOptions(new Command('list'))
      .description('the keys by name, with their scopes and creation time (never the keys)')
      .option('--json', 'one JSON object per line')
      .action(async (flags: KeyFlags) => {
        const { readKeyFile } = await import('../auth/api-keys.js');
        const entries = readKeyFile(keyFile(flags));
        for (const entry of entries) {
          const { name, scopes, createdAt } = entry;
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ name, scopes, createdAt })}\n`
              : `${name}\t${scopes.join(',')}\t${createdAt}\n`,
          );
        }
        if (entries.length === 0 && !flags.json)
          process.stderr.write(`no API keys in ${keyFile(flags)}: add one with guardgate keys add NAME\n`);
      }),
  );
  keys.addCommand(
    withFileOptions(new Command('revoke'))
      .description('remove a key: running instances stop accepting it within a second')
      .argument('<name>')
      .option('--json', 'print {"name","revoked","file"}')
      .action(async (name: string, flags: KeyFlags) => {
        const { revokeApiKey } = await import('../auth/api-keys.js');
        if (!revokeApiKey(keyFile(flags), name))
          throw new CliExit(EXIT.usage, `no API key named ${name} in ${keyFile(flags)}`, 'not_found');
        if (flags.json) process.stdout.write(`${JSON.stringify({ name, revoked: true, file: keyFile(flags) })}\n`);
        else process.stderr.write(`key ${name} revoked\n`);
      }),
  );
  return keys;
}
