// The local driver: each environment is a set of `guardgate serve` processes on this machine, each on a
// port of its own, supervised (restarted with backoff; a crash loop fails the deploy), stopped with
// SIGTERM then SIGKILL, and tied to this process so that none outlives it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Logger } from 'pino';
import type { Color } from '../vocabulary/colors.js';
import { builtFile } from '../shared/built.js';
import { readReleaseSecret, type SecretPolicy } from '../config/secret.js';
import { DeployError, type Deployment, type Driver, type EnvironmentSpec, type InstanceState } from './driver.js';

const CLI = builtFile('cli/main.js');

/** Instances listen on loopback only: the router is the front door. */
const INSTANCE_HOST = '127.0.0.1';

/** How the local driver runs instances. */
export interface LocalDriverOptions {
  dataDir: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  /** Crashes within `crashWindowMs` that make a crash loop. */
  crashLoopLimit: number;
  crashWindowMs: number;
  /** Every instance's whole environment (the caller's, with DATABASE_URL, REDIS_URL, ...); the driver adds only a release's secret file value and its own pid. */
  env: NodeJS.ProcessEnv;
  logLevel: string;
  /** More of every instance's configuration file (auth, router secret): references and digests only, never secret values. */
  instanceConfig?: Record<string, unknown>;
  /** The secrets a release may name: a secret file is judged again, by its real path, when it is read at deploy. */
  releaseSecrets?: SecretPolicy;
}

/** Where an instance finds its release's secret file, read by the driver: in its environment, never in a file. */
const RELEASE_KEY_ENV = 'GUARDGATE_RELEASE_ENGINE_API_KEY';

const freePort = (host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

class Supervised {
  child: ChildProcess | undefined;
  state: InstanceState = 'starting';
  restarts = 0;
  private crashes: number[] = [];
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  /** Set when the instance crashed too often before it was ever ready: the deploy fails with this. */
  crashLoop: string | undefined;
  /** Once ready, an instance is never given up on: a crash loop then only lengthens the wait between restarts. */
  private everReady = false;

  constructor(
    readonly url: string,
    private readonly args: string[],
    private readonly options: LocalDriverOptions,
    private readonly log: Logger,
    private readonly secretEnv: Record<string, string> = {},
  ) {}

  start(): void {
    this.state = this.restarts === 0 ? 'starting' : 'restarting';
    const child = spawn(process.execPath, [CLI, ...this.args], {
      env: { ...this.options.env, ...this.secretEnv, GUARDGATE_PARENT_PID: String(process.pid) },
      // The instance's log lines (JSON) go where up's own go; its stderr too, and the end of it is kept for crash reports.
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    this.child = child;
    if (this.restarts > 0) void this.watchUntilReady();
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      const now = Date.now();
      this.crashes = [...this.crashes.filter((t) => now - t < this.options.crashWindowMs), now];
      const looping = this.crashes.length >= this.options.crashLoopLimit;
      if (looping && !this.everReady) {
        this.crashLoop = `instance ${this.url} crashed ${this.crashes.length} times in ${this.options.crashWindowMs} ms: ${stderr.trim().slice(-300) || `exit ${code ?? signal}`}`;
        this.state = 'stopped';
        this.log.error(
          { instance: this.url, code, signal, stderr: stderr.trim().slice(-500) },
          'instance crash-looping before it was ever ready: the deploy fails',
        );
        return;
      }
      const delayMs = Math.min(250 * 2 ** (this.crashes.length - 1), 30_000);
      this.state = 'restarting';
      this.restarts++;
      const detail = {
        instance: this.url,
        code,
        signal,
        restarts: this.restarts,
        crashesInWindow: this.crashes.length,
        restartInMs: delayMs,
        stderr: stderr.trim().slice(-500),
      };
      if (looping) this.log.error(detail, 'instance crash-looping; restarting with backoff');
      else this.log.warn(detail, 'instance exited; restarting');
      this.timer = setTimeout(() => this.start(), delayMs);
    });
  }

  /** After a restart: poll readiness so that the state says when the instance serves again. */
  private async watchUntilReady(): Promise<void> {
    const child = this.child;
    while (!this.stopping && this.child === child && child?.exitCode === null) {
      if (await this.ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async ready(): Promise<boolean> {
    try {
      const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      const ok = response.status === 200;
      if (ok) {
        this.state = 'ready';
        this.everReady = true;
      }
      return ok;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      this.state = 'stopped';
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs);
    await exited;
    clearTimeout(forced);
    this.state = 'stopped';
  }
}

interface Environment {
  spec: EnvironmentSpec;
  instances: Supervised[];
}

/** Environments as supervised `guardgate serve` processes on loopback. */
export class LocalDriver implements Driver {
  private readonly environments = new Map<Color, Environment>();

  constructor(
    private readonly options: LocalDriverOptions,
    private readonly log: Logger,
  ) {}

  /**
   * A release's secret file is read here, when the instances start, by its real path and judged again (a link
   * swapped in after the release was accepted is refused); the instances get the value in their environment.
   */
  private secretOf(spec: EnvironmentSpec): { engine: EnvironmentSpec['engine']; env: Record<string, string> } {
    const { engine } = spec;
    if (
      engine.kind !== 'openai' ||
      engine.apiKey === undefined ||
      !('file' in engine.apiKey) ||
      this.options.releaseSecrets === undefined
    )
      return { engine, env: {} };
    try {
      const value = readReleaseSecret(engine.apiKey, this.options.releaseSecrets);
      return { engine: { ...engine, apiKey: { env: RELEASE_KEY_ENV } }, env: { [RELEASE_KEY_ENV]: value } };
    } catch (error) {
      throw new DeployError(`engine.apiKey: ${(error as Error).message}`);
    }
  }

  private configFile(spec: EnvironmentSpec, engine: EnvironmentSpec['engine']): string {
    const dir = join(this.options.dataDir, 'environments');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${spec.color}.yaml`);
    writeFileSync(
      file,
      stringify({
        ...this.options.instanceConfig,
        host: INSTANCE_HOST,
        color: spec.color,
        version: spec.version,
        policy: spec.policy,
        engine,
        dataDir: this.options.dataDir,
        logLevel: this.options.logLevel,
      }),
      { mode: 0o600 },
    );
    return file;
  }

  private async startInstances(env: Environment, count: number): Promise<Supervised[]> {
    const secret = this.secretOf(env.spec);
    const file = this.configFile(env.spec, secret.engine);
    const started: Supervised[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort(INSTANCE_HOST);
      const instance = new Supervised(
        `http://${INSTANCE_HOST}:${port}`,
        ['serve', '--config', file, '--port', String(port)],
        this.options,
        this.log,
        secret.env,
      );
      instance.start();
      started.push(instance);
    }
    env.instances.push(...started);
    await this.waitReady(started);
    return started;
  }

  private async waitReady(instances: Supervised[]): Promise<void> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    const pending = new Set(instances);
    while (pending.size > 0) {
      for (const instance of pending) {
        if (instance.crashLoop) throw new DeployError(instance.crashLoop);
        if (await instance.ready()) pending.delete(instance);
      }
      if (pending.size === 0) return;
      if (Date.now() > deadline)
        throw new DeployError(`${pending.size} instance(s) not ready within ${this.options.readyTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  readonly kind = 'local';

  cannotDeploy(spec: EnvironmentSpec): string | undefined {
    if (spec.image !== undefined)
      return `image (${spec.image}) needs the kubernetes driver: a local deployment runs this machine's guardgate`;
    return spec.modelServer
      ? 'modelServer (the model server beside each instance) needs the kubernetes driver; locally, run the model server yourself and name its URL in engine.baseUrl'
      : undefined;
  }

  /** Local instances are children of the controller: none outlives it, so there is never anything to adopt. */
  async adopt(_spec: EnvironmentSpec): Promise<Deployment | null> {
    return null;
  }

  async deploy(spec: EnvironmentSpec): Promise<Deployment> {
    const refused = this.cannotDeploy(spec);
    if (refused !== undefined) throw new DeployError(refused);
    await this.teardown(spec.color);
    const env: Environment = { spec, instances: [] };
    this.environments.set(spec.color, env);
    try {
      await this.startInstances(env, spec.replicas);
    } catch (error) {
      await this.teardown(spec.color);
      throw error;
    }
    this.log.info({ color: spec.color, version: spec.version, replicas: spec.replicas }, 'environment deployed');
    return this.describe(spec.color)!;
  }

  async scale(color: Color, replicas: number): Promise<Deployment> {
    const env = this.environments.get(color);
    if (env === undefined) throw new DeployError(`no ${color} environment to scale`);
    const current = env.instances.length;
    if (replicas > current) await this.startInstances(env, replicas - current);
    if (replicas < current) {
      const removed = env.instances.splice(replicas);
      await Promise.all(removed.map((i) => i.stop()));
    }
    env.spec = { ...env.spec, replicas };
    return this.describe(color)!;
  }

  async teardown(color: Color): Promise<void> {
    const env = this.environments.get(color);
    if (env === undefined) return;
    this.environments.delete(color);
    await Promise.all(env.instances.map((i) => i.stop()));
    this.log.info({ color, version: env.spec.version }, 'environment torn down');
  }

  describe(color: Color): Deployment | null {
    const env = this.environments.get(color);
    if (env === undefined) return null;
    return {
      color,
      version: env.spec.version,
      replicas: env.spec.replicas,
      instances: env.instances.map((i) => ({ url: i.url, state: i.state, restarts: i.restarts })),
    };
  }

  /** The process id of each instance, for tests that kill one. */
  pids(color: Color): number[] {
    return (this.environments.get(color)?.instances ?? []).map((i) => i.child?.pid ?? -1);
  }

  async close(): Promise<void> {
    await Promise.all([...this.environments.keys()].map((color) => this.teardown(color)));
  }
}
