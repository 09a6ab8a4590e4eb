// kubectl for tests, always asynchronous: a synchronous call stalls this process's event loop, and with it any fake
// API server the test serves from it (a kept-alive connection closed meanwhile fails the next request). Some
// kubectl builds take seconds to start (a dispatcher choosing a version).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** What a kubectl run gave: its exit code, its standard output, and both outputs together. */
export interface KubectlRun {
  code: number;
  stdout: string;
  output: string;
}

/** Run kubectl with `args` (on the cluster of `kubeconfig` when given, else the environment's); never throws. */
export function kubectl(
  args: string[],
  options: { kubeconfig?: string; timeoutMs?: number } = {},
): Promise<KubectlRun> {
  const all = options.kubeconfig === undefined ? args : ['--kubeconfig', options.kubeconfig, ...args];
  return promisify(execFile)('kubectl', all, { encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, output: stdout + stderr }),
    (error: { code?: unknown; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : 1,
      stdout: error.stdout ?? '',
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
}

let works: Promise<boolean> | undefined;
/** Whether kubectl runs on this machine: asked once per test file. */
export const kubectlWorks = (): Promise<boolean> =>
  (works ??= kubectl(['version', '--client'], { timeoutMs: 60_000 }).then((run) => run.code === 0));
