// What a CLI command costs before it does anything: `guardgate status` with no `up` to ask (it fails at once), and
// `guardgate --help`, against a bare `node -e 0` in the same run (the machine is shared: ratios, not seconds).
// Commands load the modules they run when they run (the instance, the router's configuration, the API key
// store), so a command that only asks the admin API starts without them. Then an instance's start
// (`guardgate serve` until it logs that it is ready, as a deploy waits for it), which every deploy, restart and
// rollback of a color pays per pod: the libraries of what is not configured (Redis, tracing, a model engine's
// HTTP client) load only when configured.
// Run: npm run build && npx tsx bench/cli-startup.ts [--runs 10]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtFile } from '../src/shared/built.js';
import { argValue } from './load.js';

const runs = argValue('runs', 10);
const empty = mkdtempSync(join(tmpdir(), 'guardgate-cli-bench-'));

/** Median wall and CPU (user + system) seconds of `args` run with node. */
function measure(args: string[]): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], {
      encoding: 'utf8',
      cwd: empty,
    });
    walls.push(Number(process.hrtime.bigint() - started) / 1e9);
    const [user, system] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    cpus.push(user! + system!);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { wall: median(walls), cpu: median(cpus) };
}

/** Median wall seconds until `guardgate serve` says it is ready, and its CPU seconds (from /proc) by then. */
async function instanceStart(): Promise<{ wall: number; cpu: number }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [builtFile('cli/main.js'), 'serve', '--port', '0', '--insecure'], {
      cwd: empty,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, GUARDGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'guardgate-cli-bench-data-')) },
    });
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('guardgate serve not ready within 30 s'));
      }, 30_000);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (!out.includes('ready')) return;
        clearTimeout(deadline);
        walls.push(Number(process.hrtime.bigint() - started) / 1e9);
        // /proc/PID/stat: utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux).
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        cpus.push((Number(fields[11]) + Number(fields[12])) / 100);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`guardgate serve exited (${code}) before it was ready`)));
    });
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { wall: median(walls), cpu: median(cpus) };
}

execFileSync('/usr/bin/time', ['-f', '', 'true']); // /usr/bin/time is there (Debian: the time package)
const node = measure(['-e', '0']);
const rows = [
  ['node -e 0', node],
  ['guardgate --help', measure([builtFile('cli/main.js'), '--help'])],
  ['guardgate status (no up)', measure([builtFile('cli/main.js'), 'status'])],
  ['guardgate serve, to ready', await instanceStart()],
] as const;
console.log(`median of ${runs} runs each; CPU is user + system`);
for (const [name, { wall, cpu }] of rows)
  console.log(
    `${name.padEnd(26)} wall ${wall.toFixed(2)} s (${(wall / node.wall).toFixed(1)}× node)  CPU ${cpu.toFixed(2)} s (${(cpu / Math.max(node.cpu, 0.01)).toFixed(1)}× node)`,
  );
