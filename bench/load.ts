// Shared benchmark plumbing: start a server script in its own process; the load itself is the product's
// own measurement (measureLoad, what `guardgate bench` and the load gate use).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Run a TypeScript server script with tsx; the first stdout line that is a URL is its address, the rest is discarded. */
export async function startServerProcess(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      if (/^http:\/\//.test(line)) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  // Closing readline pauses the stream; keep draining it, or a chatty server blocks on a full pipe.
  lines.close();
  child.stdout!.on('data', () => {});
  child.stdout!.resume();
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const argValue = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};

/** Start a process and wait for the first http:// URL it prints (JSON log lines included). */
export function startPrintingUrl(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out.slice(-300)}`)));
  });
}

/** Waits until `url``path` answers 2xx (30 s at most). */
export async function ready(url: string, path: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${url}${path}`).catch(() => undefined))?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}${path} not ready after 30 s`);
}
