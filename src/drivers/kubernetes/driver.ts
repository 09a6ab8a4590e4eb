// The Kubernetes driver: an environment is a Deployment, its ConfigMap and a Service per color
// (manifests.ts). Deploy writes them and waits for the rollout (observed generation, updated and
// available replicas) up to a deadline; a failure carries the pods' evidence (waiting reasons such as
// ImagePullBackOff or CrashLoopBackOff, unschedulable pods, their events) and leaves nothing behind.
// `describe` answers from a view of the pods refreshed in the background, so that it stays synchronous.
import {
  AppsV1Api,
  CoreV1Api,
  type ListPromise,
  type KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { COLORS, type Color } from '../../vocabulary/colors.js';
import {
  DeployError,
  type Deployment,
  type Driver,
  type EnvironmentSpec,
  type InstanceInfo,
  type InstanceState,
} from '../driver.js';
import { kubeConfigOf, kubernetesApi } from './api.js';
import { Watched } from './watched.js';
import { applyObject, FIELD_MANAGER, otherManagersOf, readObject, statusOf } from './objects.js';
import { containersOf, crashLooping, podGone, podReady, rolloutOf, type KubeDeployment, type Pod } from './rollout.js';
import {
  colorSelector,
  colorService,
  configMap,
  deployment,
  environmentName,
  LABEL_APP,
  labelSelector,
  RETIRE_ANNOTATION,
  type KubernetesSettings,
} from './manifests.js';

/** How the Kubernetes driver deploys and watches environments. */
export interface KubernetesDriverOptions extends KubernetesSettings {
  /** A kubeconfig (YAML); none: the in-cluster service account, or ~/.kube/config. */
  kubeconfig?: string | undefined;
  /** How long a rollout may take, and a teardown. */
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  /** A pod restarting this often before it was ever ready fails the deploy at once (a crash loop). */
  crashLoopLimit: number;
  /** How often the view of the pods is refreshed. */
  refreshMs?: number;
  /** Follow the pods and Deployments with watches (default); false: read them at every look (an API server that refuses watches; the benchmark's baseline). */
  watchPods?: boolean;
  /** Environment values every pod needs (the router secret, DATABASE_URL): kept in a Secret `<app>-env`, never in the ConfigMap. */
  secretEnv?: Record<string, string> | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a pod's state says, for a person: phase, and each container's waiting reason and restarts. */
function podEvidence(pod: Pod): string {
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const parts = [pod.status?.phase ?? 'Pending'];
  if (pod.status?.reason) parts.push(pod.status.reason);
  if (unschedulable) parts.push(`${unschedulable.reason}: ${unschedulable.message ?? ''}`.trim());
  const containers = containersOf(pod);
  for (const container of containers) {
    const waiting = container.state?.waiting;
    const name = containers.length > 1 && container.name ? `${container.name}: ` : '';
    if (waiting?.reason) parts.push(`${name}${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`);
    if (container.restartCount) parts.push(`${name}${container.restartCount} restarts`);
  }
  return `pod ${pod.metadata?.name}: ${parts.join(', ')}`;
}

/** Environments as Deployments, ConfigMaps and Services on Kubernetes. */
export class KubernetesDriver implements Driver {
  private readonly api: KubernetesObjectApi;
  private readonly views = new Map<Color, Deployment>();
  private readonly specs = new Map<Color, EnvironmentSpec>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * This app's pods and Deployments, kept by watches rather than read several times a second (watched.ts);
   * while a watch is down, they are read instead.
   */
  private podCache: Watched<Pod> | undefined;
  private deploymentCache: Watched<KubeDeployment> | undefined;
  /** What the Secret `<app>-env` holds, as this driver last wrote it. */
  private secretEnv: Record<string, string> | undefined;

  private constructor(
    private readonly options: KubernetesDriverOptions,
    private readonly log: Logger,
  ) {
    this.api = kubernetesApi(options.kubeconfig);
    this.secretEnv = options.secretEnv;
  }

  /** A driver with the environments the cluster already runs in view (a restarted controller resumes). */
  static async create(options: KubernetesDriverOptions, log: Logger): Promise<KubernetesDriver> {
    const secretName = `${options.app}-env`;
    const driver = new KubernetesDriver(
      options.secretEnv === undefined ? options : { ...options, envSecret: secretName },
      log,
    );
    if (options.secretEnv !== undefined) await driver.writeSecretEnv({});
    for (const color of COLORS) {
      const found = await driver.read<KubeDeployment>('apps/v1', 'Deployment', environmentName(options, color));
      const version = found?.metadata?.annotations?.['guardgate.dev/version'];
      if (found !== undefined && version !== undefined && (found.spec.replicas ?? 1) > 0) {
        driver.specs.set(color, {
          color,
          version,
          replicas: found.spec.replicas ?? 1,
          engine: { kind: 'lexicon' },
          policy: 'strict',
        });
        await driver.refresh(color);
      }
    }
    if (options.watchPods !== false) await driver.watch();
    driver.timer = setInterval(() => void driver.refreshAll(), options.refreshMs ?? 500);
    driver.timer.unref();
    return driver;
  }

  /**
   * Write the Secret `<app>-env` every pod reads: the values this driver was given, with `changes` over them (a
   * credential rotation's new digests). Running pods see the change in their mount (ENV_SECRET_DIR) once the
   * kubelet refreshes it; their environment keeps what it held at their start.
   */
  async writeSecretEnv(changes: Record<string, string>): Promise<void> {
    if (this.secretEnv === undefined) throw new Error('this driver writes no Secret for its pods');
    this.secretEnv = { ...this.secretEnv, ...changes };
    const data = Object.fromEntries(
      Object.entries(this.secretEnv).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    );
    await this.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: this.options.envSecret, namespace: this.options.namespace, labels: { app: this.options.app } },
      type: 'Opaque',
      data,
    } as KubernetesObject);
  }

  private read<T extends KubernetesObject>(apiVersion: string, kind: string, name: string): Promise<T | undefined> {
    return readObject<T>(this.api, apiVersion, kind, this.options.namespace, name);
  }

  /** Server-side apply (what others set and Guardgate does not name stays); returns what was written. */
  private put<T extends KubernetesObject>(object: T): Promise<T> {
    return applyObject<T>(this.api, { ...object, metadata: { ...object.metadata, namespace: this.options.namespace } });
  }

  /** Follow this app's pods and Deployments with watches. */
  private async watch(): Promise<void> {
    const config = kubeConfigOf(this.options.kubeconfig);
    const core = config.makeApiClient(CoreV1Api);
    const apps = config.makeApiClient(AppsV1Api);
    const { namespace } = this.options;
    const labelSelector = `${LABEL_APP}=${this.options.app}`;
    [this.podCache, this.deploymentCache] = await Promise.all([
      Watched.start<Pod>(
        config,
        `/api/v1/namespaces/${namespace}/pods`,
        () => core.listNamespacedPod({ namespace, labelSelector }),
        labelSelector,
        'pods',
        this.log,
      ),
      Watched.start<KubeDeployment>(
        config,
        `/apis/apps/v1/namespaces/${namespace}/deployments`,
        // KubeDeployment is the part of a Deployment the rollout judgement reads (spec.replicas required there).
        () => apps.listNamespacedDeployment({ namespace, labelSelector }) as ReturnType<ListPromise<KubeDeployment>>,
        labelSelector,
        'Deployments',
        this.log,
      ),
    ]);
  }

  /**
   * The Deployment as the watch saw it, once it shows at least `generation` (what this driver last wrote: an
   * older copy would judge the previous rollout); otherwise read from the API server.
   */
  private async deploymentOf(name: string, generation: number): Promise<KubeDeployment | undefined> {
    const seen = this.deploymentCache?.get(name, this.options.namespace);
    if (seen !== undefined && (seen.metadata?.generation ?? 0) >= generation) return seen;
    return this.read<KubeDeployment>('apps/v1', 'Deployment', name);
  }

  private async pods(color: Color): Promise<Pod[]> {
    const watched = this.podCache?.list(this.options.namespace);
    if (watched !== undefined) {
      const selector = Object.entries(colorSelector(this.options, color));
      return watched.filter((pod) => selector.every(([key, value]) => pod.metadata?.labels?.[key] === value));
    }
    const list = await this.api.list<Pod>(
      'v1',
      'Pod',
      this.options.namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      labelSelector(colorSelector(this.options, color)),
    );
    return list.items;
  }

  private async refresh(color: Color): Promise<void> {
    const spec = this.specs.get(color);
    if (spec === undefined) return;
    // Evicted (Failed) and terminating pods are not instances: they serve nothing and never will again.
    const pods = (await this.pods(color)).filter((p) => !podGone(p));
    const instances: InstanceInfo[] = pods
      .filter((p) => p.status?.podIP !== undefined)
      .map((pod) => {
        const restarts = containersOf(pod).reduce((sum, c) => sum + c.restartCount, 0);
        const state: InstanceState = podReady(pod) ? 'ready' : restarts > 0 ? 'restarting' : 'starting';
        return { url: `http://${pod.status!.podIP}:${this.options.port}`, state, restarts, name: pod.metadata?.name };
      })
      .sort((a, b) => a.url.localeCompare(b.url));
    if (!this.specs.has(color)) return;
    const before = this.views
      .get(color)
      ?.instances.map((i) => i.url)
      .join(' ');
    const view = { color, version: spec.version, replicas: spec.replicas, instances };
    this.views.set(color, view);
    // A pod replaced (evicted, deleted, rescheduled) comes back at another address: whoever routes to the pods follows.
    if (this.settled.has(color) && before !== undefined && before !== instances.map((i) => i.url).join(' '))
      this.listener?.(view);
  }

  private listener: ((deployment: Deployment) => void) | undefined;
  /** Colors not being deployed or scaled: their instance changes are the cluster's, told to the listener. */
  private readonly settled = new Set<Color>();

  onInstancesChanged(listener: (deployment: Deployment) => void): void {
    this.listener = listener;
  }

  private async refreshAll(): Promise<void> {
    for (const color of this.specs.keys()) {
      try {
        await this.refresh(color);
      } catch (error) {
        this.log.warn({ err: error, color }, 'kubernetes: could not refresh the view of the pods');
      }
    }
  }

  /**
   * Wait until the Deployment has rolled out (as `kubectl rollout status` judges it) and no pod beyond its
   * replicas is still terminating (a scale-down is done when the removed pods have stopped and freed their
   * GPUs); fail on a crash loop in any container, a failed condition or the deadline, with the pods' evidence.
   */
  private async rollout(spec: EnvironmentSpec, generation: number): Promise<Deployment> {
    const name = environmentName(this.options, spec.color);
    const deadline = Date.now() + this.options.readyTimeoutMs;
    for (;;) {
      const current = await this.deploymentOf(name, generation);
      if (current === undefined) throw new DeployError(`the ${name} Deployment disappeared during its rollout`);
      const want = current.spec.replicas ?? 1;
      const all = await this.pods(spec.color);
      const stopping = all.filter(
        (p) =>
          p.metadata?.deletionTimestamp !== undefined &&
          p.status?.phase !== 'Failed' &&
          p.status?.phase !== 'Succeeded',
      ).length;
      const live = all.filter((p) => !podGone(p));
      const rollout = rolloutOf(current);
      if (rollout.done && live.length + stopping <= want) {
        await this.refresh(spec.color);
        return this.describe(spec.color)!;
      }
      const looping = crashLooping(live, this.options.crashLoopLimit);
      const failure = looping
        ? `container ${looping.container.name ?? ''} of pod ${looping.pod.metadata?.name} is in a crash loop (${looping.container.restartCount} restarts)`
        : 'failed' in rollout
          ? rollout.failed
          : Date.now() > deadline
            ? `not rolled out within ${this.options.readyTimeoutMs} ms (${'waiting' in rollout ? rollout.waiting : `${stopping} pods still terminating`})`
            : undefined;
      if (failure !== undefined)
        throw new DeployError(`${name}: ${failure}; ${await this.evidence(live.length > 0 ? live : all)}`);
      await sleep(200);
    }
  }

  /** The pods' states and their latest warning events: why a rollout did not complete. */
  private async evidence(pods: Pod[]): Promise<string> {
    const lines: string[] = [];
    for (const pod of pods.slice(0, 5)) {
      let events: string[] = [];
      try {
        const list = await this.api.list<KubernetesObject & { reason?: string; message?: string; type?: string }>(
          'v1',
          'Event',
          this.options.namespace,
          undefined,
          undefined,
          undefined,
          `involvedObject.name=${pod.metadata!.name}`,
        );
        events = list.items
          .filter((e) => e.type === 'Warning')
          .slice(-2)
          .map((e) => `${e.reason}: ${e.message}`);
      } catch {
        // evidence is best effort
      }
      lines.push(`${podEvidence(pod)}${events.length ? `; events: ${events.join(' | ')}` : ''}`);
    }
    return lines.length === 0 ? 'no pod was created' : lines.join('; ');
  }

  readonly kind = 'kubernetes';

  cannotDeploy(spec: EnvironmentSpec): string | undefined {
    if (spec.modelServer !== undefined && spec.engine.kind !== 'openai')
      return 'modelServer needs engine kind openai (Guardgate talks to the model server beside it)';
    return undefined;
  }

  async adopt(spec: EnvironmentSpec): Promise<Deployment | null> {
    const found = await this.read<KubeDeployment>('apps/v1', 'Deployment', environmentName(this.options, spec.color));
    if (found === undefined || (found.spec.replicas ?? 1) === 0) return null;
    // What runs is what is adopted, whatever the store remembers: its version and its replicas, untouched.
    const version = found.metadata?.annotations?.['guardgate.dev/version'] ?? spec.version;
    if (version !== spec.version)
      this.log.warn(
        { color: spec.color, running: version, recorded: spec.version },
        'kubernetes: the cluster runs another version than recorded; adopting what runs',
      );
    this.specs.set(spec.color, { ...spec, version, replicas: found.spec.replicas ?? 1 });
    await this.refresh(spec.color);
    this.settled.add(spec.color);
    const adopted = this.describe(spec.color)!;
    this.log.info(
      {
        color: spec.color,
        version,
        replicas: adopted.replicas,
        ready: adopted.instances.filter((i) => i.state === 'ready').length,
      },
      'kubernetes: adopted the environment that runs (not redeployed)',
    );
    return adopted;
  }

  async deploy(spec: EnvironmentSpec): Promise<Deployment> {
    const refused = this.cannotDeploy(spec);
    if (refused !== undefined) throw new DeployError(refused);
    this.specs.set(spec.color, spec);
    this.settled.delete(spec.color);
    try {
      await this.put(configMap(spec, this.options));
      const wanted = deployment(spec, this.options, spec.replicas) as KubeDeployment;
      const sizers = await this.sizedByOthers(environmentName(this.options, spec.color));
      if (sizers !== undefined) {
        // An autoscaler (or kubectl scale) sizes this Deployment: its replica count stays theirs.
        const { replicas: _replicas, ...rest } = wanted.spec;
        wanted.spec = rest as KubeDeployment['spec'];
        this.specs.set(spec.color, { ...spec, replicas: sizers.replicas });
        this.log.info(
          { color: spec.color, replicas: sizers.replicas, managers: sizers.managers },
          'kubernetes: the replica count is left to what sets it through the scale subresource',
        );
      }
      const written = await this.put(wanted as unknown as KubernetesObject);
      await this.put(colorService(spec.color, this.options) as KubernetesObject);
      const rolled = await this.rollout(this.specs.get(spec.color)!, written.metadata?.generation ?? 0);
      this.settled.add(spec.color);
      this.log.info(
        { color: spec.color, version: spec.version, replicas: spec.replicas },
        'kubernetes: environment rolled out',
      );
      return rolled;
    } catch (error) {
      await this.teardown(spec.color).catch((cleanup: unknown) =>
        this.log.error({ err: cleanup }, 'kubernetes: cleanup after a failed deploy failed'),
      );
      if (error instanceof DeployError) throw error;
      throw new DeployError(`kubernetes: ${(error as Error).message}`);
    }
  }

  async scale(color: Color, replicas: number): Promise<Deployment> {
    const spec = this.specs.get(color);
    if (spec === undefined) throw new DeployError(`no ${color} environment to scale`);
    const next = { ...spec, replicas };
    this.specs.set(color, next);
    this.settled.delete(color);
    // Only this color's Deployment changes: the live color is never resized by the candidate's count.
    const patched = await this.setReplicas(environmentName(this.options, color), replicas);
    const scaled = await this.rollout(next, patched.metadata?.generation ?? 0);
    this.settled.add(color);
    return scaled;
  }

  async teardown(color: Color): Promise<void> {
    const name = environmentName(this.options, color);
    this.specs.delete(color);
    this.views.delete(color);
    this.settled.delete(color);
    const found = await this.read<KubeDeployment>('apps/v1', 'Deployment', name);
    // A color Git holds (rendered): no pods, its objects kept for the GitOps tool that owns them.
    if (found?.metadata?.annotations?.[RETIRE_ANNOTATION] === 'scale-to-zero') await this.setReplicas(name, 0);
    else await this.deleteEnvironment(name);
    const deadline = Date.now() + this.options.stopTimeoutMs;
    while ((await this.pods(color)).length > 0) {
      if (Date.now() > deadline)
        throw new DeployError(`${name}: pods still there ${this.options.stopTimeoutMs} ms after the teardown`);
      await sleep(200);
    }
    this.log.info({ color }, 'kubernetes: environment torn down');
  }

  /**
   * Who sizes a color's Deployment through its scale subresource (an HorizontalPodAutoscaler, `kubectl scale`), and
   * to how many replicas; undefined when nobody else does, or they sized it to zero (then the release sizes it).
   */
  private async sizedByOthers(name: string): Promise<{ managers: string[]; replicas: number } | undefined> {
    const found = await this.read<KubeDeployment>('apps/v1', 'Deployment', name);
    const managers = otherManagersOf(found, ['spec', 'replicas'], 'scale');
    const replicas = found?.spec.replicas ?? 0;
    return managers.length > 0 && replicas > 0 ? { managers, replicas } : undefined;
  }

  /** The Deployment's replica count, patched (nothing else of it changes); returns the patched Deployment. */
  private setReplicas(name: string, replicas: number): Promise<KubernetesObject> {
    return this.api.patch(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: this.options.namespace },
        spec: { replicas },
      } as KubernetesObject,
      undefined,
      undefined,
      FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    );
  }

  /** The color's Deployment (its pods with it), Service and ConfigMap deleted. */
  private async deleteEnvironment(name: string): Promise<void> {
    for (const [apiVersion, kind] of [
      ['apps/v1', 'Deployment'],
      ['v1', 'Service'],
      ['v1', 'ConfigMap'],
    ] as const) {
      try {
        await this.api.delete(
          { apiVersion, kind, metadata: { name, namespace: this.options.namespace } },
          undefined,
          undefined,
          undefined,
          undefined,
          'Foreground',
        );
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    }
  }

  describe(color: Color): Deployment | null {
    return this.views.get(color) ?? null;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.podCache?.stop(), this.deploymentCache?.stop()]);
  }
}
