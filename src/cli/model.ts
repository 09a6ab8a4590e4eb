// `guardgate model pull|list|rm`: GGUF model files for the llama.cpp engine, in GUARDGATE_MODELS (default
// ~/.cache/guardgate/models).
import { Command } from 'commander';
import { CliExit } from './client.js';
import { EXIT } from './exit-codes.js';
import { httpUrl } from './flags.js';

const human = (bytes: number): string =>
  bytes >= 1e9
    ? `${(bytes / 1e9).toFixed(2)} GB`
    : bytes >= 1e6
      ? `${(bytes / 1e6).toFixed(1)} MB`
      : `${(bytes / 1e3).toFixed(0)} KB`;
const duration = (seconds: number): string =>
  seconds >= 3600
    ? `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`
    : seconds >= 60
      ? `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`
      : `${Math.round(seconds)}s`;

function pull(): Command {
  return new Command('pull')
    .description(
      'download a GGUF model by name (model list --known) or URL: resumes an interrupted download, verifies its SHA-256, exit 5 unreachable',
    )
    .argument('<name-or-url>', 'a known name (qwen3guard-gen-0.6b, …) or an http(s) URL of a .gguf file')
    .option('--sha256 <hex>', "the SHA-256 the file must have (else the server's, when it states one)")
    .option('--name <file>', "the name to keep it under (default: the known name, or the URL's file name)")
    .option('--json', 'print the result as JSON')
    .option('--max-gib <n>', 'the largest file to accept, in GiB (default 32)')
    .action(async (what: string, flags: { sha256?: string; name?: string; json?: boolean; maxGib?: string }) => {
      const maxGib = flags.maxGib === undefined ? undefined : Number(flags.maxGib);
      if (maxGib !== undefined && !(Number.isFinite(maxGib) && maxGib > 0))
        throw new CliExit(EXIT.usage, `--max-gib takes a positive number (got ${flags.maxGib!.slice(0, 20)})`);
      const { MODEL_NAME, modelsDir } = await import('../models/store.js');
      const { pullModel, PullError } = await import('../models/pull.js');
      const { KNOWN_MODELS, knownModel, knownModelUrl } = await import('../models/catalog.js');
      const known = knownModel(what);
      if (known === undefined && !/^[a-z][a-z0-9+.-]*:/i.test(what)) {
        throw new CliExit(
          EXIT.usage,
          `${what.slice(0, 100)} is neither a known model nor a URL; known: ${KNOWN_MODELS.map((m) => m.name).join(', ')}`,
        );
      }
      let url: string;
      try {
        url = known === undefined ? httpUrl('the model URL', what) : knownModelUrl(known, process.env);
      } catch (error) {
        if (error instanceof CliExit) throw error;
        throw new CliExit(EXIT.usage, (error as Error).message);
      }
      let name = flags.name ?? (known === undefined ? undefined : `${known.name}.gguf`);
      try {
        name ??= decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
      } catch {
        throw new CliExit(EXIT.usage, "the URL's file name is not valid percent-encoding; pass --name");
      }
      if (!MODEL_NAME.test(name))
        throw new CliExit(
          EXIT.usage,
          `a model's name is a .gguf file name without a path (got ${name.slice(0, 100)}); pass --name`,
        );
      if (flags.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.sha256))
        throw new CliExit(EXIT.usage, '--sha256 takes 64 hex digits');
      const dir = modelsDir(process.env);
      const tty = process.stderr.isTTY === true && !flags.json;
      let lastLine = 0;
      const onProgress = (p: {
        bytes: number;
        total: number | null;
        rate: number;
        etaSeconds: number | null;
        resumedFrom: number;
      }) => {
        const share = p.total === null ? null : p.bytes / p.total;
        const bar =
          share === null ? '' : `[${'#'.repeat(Math.round(share * 30)).padEnd(30, '.')}] ${(100 * share).toFixed(1)}% `;
        const line = `${bar}${human(p.bytes)}${p.total === null ? '' : ` of ${human(p.total)}`}, ${human(p.rate)}/s${p.etaSeconds === null ? '' : `, ${duration(p.etaSeconds)} left`}${p.resumedFrom > 0 ? ` (resumed at ${human(p.resumedFrom)})` : ''}`;
        if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        else if (Date.now() - lastLine > 5_000 || p.bytes === p.total) {
          lastLine = Date.now();
          if (!flags.json) process.stderr.write(`${line}\n`);
        }
      };
      try {
        const result = await pullModel(url, {
          dir,
          name,
          sha256: flags.sha256,
          onProgress,
          ...(maxGib === undefined ? {} : { maxBytes: Math.round(maxGib * 1024 ** 3) }),
        });
        if (tty) process.stderr.write('\n');
        if (flags.json) process.stdout.write(`${JSON.stringify({ name, ...result })}\n`);
        else
          process.stdout.write(
            `${result.path}\n  ${human(result.bytes)}, sha256 ${result.sha256} (${result.verified ? 'verified' : 'computed: no digest was known to check it against'})\n`,
          );
      } catch (error) {
        if (tty) process.stderr.write('\n');
        if (error instanceof PullError) {
          const offline = error.code === 'unreachable' || error.code === 'stalled';
          // A known name's hub may be out of reach from here (no network, a proxy): say where else it can come from.
          const hint =
            offline && known !== undefined
              ? `; without access to ${new URL(url).host}, set HF_ENDPOINT to a mirror of the hub, or pull the file's URL from somewhere you can reach`
              : '';
          throw new CliExit(offline ? EXIT.unreachable : EXIT.failure, `${error.message}${hint}`);
        }
        throw error;
      }
    });
}

function list(): Command {
  return new Command('list')
    .description(
      'the models pulled (GUARDGATE_MODELS, default ~/.cache/guardgate/models); --known: the names pull knows',
    )
    .option('--known', 'the known names, where each comes from, and whether it is pulled')
    .option('--json', 'print JSON')
    .action(async (flags: { known?: boolean; json?: boolean }) => {
      const { listModels, modelsDir } = await import('../models/store.js');
      const models = listModels(modelsDir(process.env));
      if (flags.known) {
        const { KNOWN_MODELS, knownModelUrl } = await import('../models/catalog.js');
        const known = KNOWN_MODELS.map((m) => ({
          ...m,
          url: knownModelUrl(m, process.env),
          pulled: models.some((p) => p.name === `${m.name}.gguf` && !p.partial),
        }));
        if (flags.json) return void process.stdout.write(`${JSON.stringify(known)}\n`);
        for (const m of known)
          process.stdout.write(
            `${m.name.padEnd(28)} ${m.size.padStart(7)}  ${m.pulled ? 'pulled' : '      '}  ${m.repo}/${m.file}  (${m.note})\n`,
          );
        return void process.stdout.write(
          "Community conversions on Hugging Face (Qwen publishes safetensors only); the SHA-256 checked is the hub's.\n",
        );
      }
      if (flags.json) return void process.stdout.write(`${JSON.stringify(models)}\n`);
      if (models.length === 0)
        return void process.stdout.write(`no models in ${modelsDir(process.env)} (guardgate model list --known)\n`);
      for (const m of models)
        process.stdout.write(
          m.partial
            ? `${m.name}  ${human(m.bytes)} so far: a partial download (pull again to resume, or model rm)\n`
            : `${m.name}  ${human(m.bytes)}  sha256 ${m.sha256 ?? 'unknown'}\n`,
        );
    });
}

function remove(): Command {
  return new Command('rm')
    .description('remove a pulled model (and any partial download of it)')
    .argument('<name>', 'the model file name, as model list shows it')
    .option('--json', 'print {"name","removed","dir"}')
    .action(async (name: string, flags: { json?: boolean }) => {
      const { MODEL_NAME, modelsDir, removeModel } = await import('../models/store.js');
      if (!MODEL_NAME.test(name)) throw new CliExit(EXIT.usage, `not a model name: ${name.slice(0, 100)}`);
      const dir = modelsDir(process.env);
      if (!removeModel(dir, name)) throw new CliExit(EXIT.usage, `no model ${name} in ${dir}`, 'not_found');
      process.stdout.write(flags.json ? `${JSON.stringify({ name, removed: true, dir })}\n` : `removed ${name}\n`);
    });
}

/** `guardgate model pull|list|rm`. */
export function modelCommand(): Command {
  return new Command('model')
    .description('GGUF model files for the llama.cpp engine: pull, list, rm')
    .addCommand(pull())
    .addCommand(list())
    .addCommand(remove());
}
