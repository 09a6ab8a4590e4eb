// The fake cluster around the API server: a Deployment → ReplicaSet → Pod controller, a kubelet that runs
// each pod's `guardgate` container as a real local process (each pod its own loopback address, as if in
// its own network namespace) and reports readiness from its readiness probe, and a service proxy that
// forwards each Service's connections to the ready pods its selector matches, after a propagation delay,
// pinning each connection to the pod it chose (as kube-proxy does). Times are scaled down for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import {
  Agent as HttpAgent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, startApiServer, type ApiServer, type KubeObject } from './api-server.js';
import { routeRequest } from './gateway-routing.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface FakeClusterOptions {
  /** How often controllers reconcile and probes run. */
  tickMs?: number;
  /** How long a Service's endpoints take to reach each node's kube-proxy (and routes the Gateway) after a change. */
  propagationDelayMs?: number;
  /** GPUs the one node has (pods asking for more stay Pending: Unschedulable); see `nodes` for several. */
  gpus?: number;
  /**
   * The nodes and the GPUs each has (default: one node with `gpus`). A pod is bound to a node whose free GPUs
   * cover what it asks (the GPUs of the pods bound there, terminating ones included, are taken); none: Pending,
   * Unschedulable, as the scheduler says it. Each node has its own kube-proxy, as late as its own
   * `propagationDelayMs` (default: the cluster's); the first node's answers on the Services' cluster IPs.
   */
  nodes?: Array<{ name: string; gpus: number; propagationDelayMs?: number }>;
  /** Kubernetes seconds (grace periods, progress deadlines) are this many milliseconds here. */
  secondMs?: number;
  /** Environment every container gets (a test's DATABASE_URL, say). */
  env?: NodeJS.ProcessEnv;
  /** The Gateway (Gateway API) HTTPRoutes attach to by name. */
  gatewayName?: string;
}

export interface FakeCluster {
  api: ApiServer;
  /** A kubeconfig (YAML) that points at the API server. */
  kubeconfig: string;
  /** Images the kubelet cannot pull (ImagePullBackOff). */
  badImages: Set<string>;
  /** Kill a pod's process as if it crashed. */
  crash(podName: string): void;
  /**
   * From now on, changes reach the service proxies and the Gateway this much later (kube-proxy slowing down, or
   * catching up); with `node`, that node's kube-proxy only.
   */
  setPropagationDelay(ms: number, node?: string): void;
  /** From now on a container of the pod exits as soon as it starts (a crash loop: CrashLoopBackOff, restarts growing). */
  crashLoop(podName: string, containerName?: string): void;
  /** The kubelet evicts the pod (node pressure): its containers stop, the object stays with phase Failed, reason Evicted, as a real cluster keeps it; its ReplicaSet makes a replacement. */
  evict(podName: string): void;
  /**
   * Where a Service listens: its cluster IP and first port, as the first node's kube-proxy serves it; with
   * `node`, as that node's kube-proxy does (a client on that node), at an address of its own.
   */
  serviceUrl(name: string, namespace?: string, node?: string): string | undefined;
  /** The Gateway's address: it routes each request by the HTTPRoutes attached to it. */
  gatewayUrl: string;
  /**
   * Hold the kubelet's refresh of mounted Secrets in running pods (named ones, or every pod), or let it go on.
   * It refreshes at its next tick otherwise; a real kubelet takes up to a minute or two.
   */
  holdSecretRefresh(pods: string[] | 'all' | 'none'): void;
  close(): Promise<void>;
}

interface RunningContainer {
  name: string;
  child: ChildProcess | undefined;
  restarts: number;
  ready: boolean;
  exited: boolean;
  nextStart: number;
  probing: boolean;
  lastExit: string | undefined;
  /** Why it does not run (ImagePullBackOff, CrashLoopBackOff). */
  waiting: { reason: string; message: string } | undefined;
}

interface RunningPod {
  name: string;
  namespace: string;
  ip: string;
  dir: string;
  stopping: boolean;
  containers: RunningContainer[];
  /** Its mounted Secrets, as last written into its directory: the kubelet refreshes them when they change. */
  secretMounts: Map<string, { volume: any; secretName: string; local: string; written: string }>;
}

/** One node's kube-proxy for one Service. */
interface ServiceProxy {
  ip: string;
  servers: Server[];
  /** The pods (ip:port) connections go to now: what propagated to this node. */
  endpoints: Array<{ ip: string; port: number }>;
  /** The last endpoints sent its way (propagating), and the number of the change applied last: changes apply in order. */
  wanted: Array<{ ip: string; port: number }>;
  applied: number;
  /** Connections open, by the pod they are pinned to. */
  sockets: Set<Socket>;
}

const hashOf = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 10);
const owned = (object: KubeObject, owner: KubeObject) =>
  object.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid) ?? false;
/** A pod that ended (Failed: evicted; Succeeded): kept by the API server, no longer counted by its ReplicaSet, its Deployment or its Service. */
const terminal = (pod: KubeObject) => pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
const podReady = (pod: KubeObject) =>
  pod.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ??
  false;

/**
 * A loopback block of its own for this cluster (pods at 127.<base>.x.y, Services at 127.<base+1>.x.y), so that
 * clusters in test files running side by side never share an address. Claimed by listening on an address of
 * the block until the cluster closes.
 */
async function claimAddressBlock(): Promise<{ base: number; release: () => void }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 10 + 2 * Math.floor(Math.random() * 120);
    const claim = createServer();
    const claimed = await new Promise<boolean>((resolve) => {
      claim.once('error', () => resolve(false));
      claim.listen(65_000, `127.${base}.255.254`, () => resolve(true));
    });
    if (claimed) return { base, release: () => claim.close() };
  }
  throw new Error('no free loopback block for a fake cluster');
}

export async function startFakeCluster(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const tickMs = options.tickMs ?? 50;
  const secondMs = options.secondMs ?? 100;
  let propagationDelayMs = options.propagationDelayMs ?? 0;
  const nodes = options.nodes ?? [{ name: 'fake-node', gpus: options.gpus ?? 0 }];
  /** Each node's kube-proxy delay. */
  const nodeDelays = nodes.map((n) => n.propagationDelayMs ?? propagationDelayMs);
  const nodeIndex = (name: string): number => {
    const index = nodes.findIndex((n) => n.name === name);
    if (index === -1) throw new Error(`no node ${name} (the nodes: ${nodes.map((n) => n.name).join(', ')})`);
    return index;
  };
  /** A node's own address for a cluster IP 127.s.x.y: 127.s.(128 + node).y (cluster IPs keep x under 128). */
  const nodeAddress = (clusterIp: string, node: number): string => {
    if (node === 0) return clusterIp;
    const [, s, x, y] = clusterIp.split('.');
    if (Number(x) >= 128) throw new Error(`cluster IP ${clusterIp} is past the fake's per-node addresses`);
    return `127.${s}.${128 + node}.${y}`;
  };
  const block = await claimAddressBlock();
  const api = await startApiServer(block.base + 1);
  const kubeconfigFor = (user: string, namespace: string) => kubeconfigOf(api.url, user, namespace);
  const { store } = api;
  const pods = new Map<string, RunningPod>();
  /** By Service: one kube-proxy per node, the first node's on the cluster IP. */
  const proxies = new Map<string, ServiceProxy[]>();
  let changes = 0;
  const badImages = new Set<string>();
  const crashLooping = new Set<string>();
  const root = mkdtempSync(join(tmpdir(), 'guardgate-fake-cluster-'));
  let nextIp = 1;
  let closed = false;
  const progressAt = new Map<string, number>();

  const event = (object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) => {
    const now = new Date().toISOString();
    store.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${object.metadata.name}.${Date.now().toString(16)}${Math.random().toString(16).slice(2, 6)}`,
        namespace: object.metadata.namespace,
      },
      involvedObject: {
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
      },
      type,
      reason,
      message,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: 'fake-kubelet' },
    } as KubeObject);
  };

  // Deployments → ReplicaSets.
  const reconcileDeployments = () => {
    for (const deployment of store.list('Deployment')) {
      const { namespace, name } = deployment.metadata as { namespace: string; name: string };
      const template = deployment.spec.template;
      const hash = hashOf(template);
      const sets = store.list('ReplicaSet', namespace).filter((rs) => owned(rs, deployment));
      let current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
      const desired = deployment.spec.replicas ?? 1;
      if (current === undefined) {
        current = store.create({
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: `${name}-${hash}`,
            namespace,
            labels: { ...template.metadata?.labels, 'pod-template-hash': hash },
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: deployment.metadata.uid!, controller: true },
            ],
          },
          spec: {
            replicas: desired,
            selector: { matchLabels: { ...deployment.spec.selector.matchLabels, 'pod-template-hash': hash } },
            template: {
              ...template,
              metadata: { ...template.metadata, labels: { ...template.metadata?.labels, 'pod-template-hash': hash } },
            },
          },
        });
        progressAt.set(deployment.metadata.uid!, Date.now());
      } else if (current.spec.replicas !== desired) {
        store.update('ReplicaSet', namespace, current.metadata.name, (rs) => (rs.spec.replicas = desired));
        progressAt.set(deployment.metadata.uid!, Date.now());
      }
      const newAvailable = current.status?.availableReplicas ?? 0;
      // Rolling: an old ReplicaSet keeps what the new one cannot serve yet.
      for (const old of sets.filter((rs) => rs.metadata.name !== current!.metadata.name)) {
        const keep = Math.max(0, Math.min(old.spec.replicas, desired - newAvailable));
        if (old.spec.replicas !== keep)
          store.update('ReplicaSet', namespace, old.metadata.name, (rs) => (rs.spec.replicas = keep));
      }
      const allPods = store
        .list('Pod', namespace)
        .filter((p) => (sets.some((rs) => owned(p, rs)) || owned(p, current!)) && !terminal(p));
      const updated = allPods.filter(
        (p) => p.metadata.labels?.['pod-template-hash'] === hash && !p.metadata.deletionTimestamp,
      );
      const ready = allPods.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
      const available = updated.filter(podReady).length;
      const started = progressAt.get(deployment.metadata.uid!) ?? Date.now();
      const deadline = (deployment.spec.progressDeadlineSeconds ?? 600) * secondMs;
      const complete = updated.length === desired && available === desired && allPods.length === desired;
      if (complete) progressAt.set(deployment.metadata.uid!, Date.now());
      const exceeded = !complete && Date.now() - started > deadline;
      const status = {
        observedGeneration: deployment.metadata.generation,
        replicas: allPods.filter((p) => !p.metadata.deletionTimestamp).length,
        updatedReplicas: updated.length,
        readyReplicas: ready.length,
        availableReplicas: available,
        unavailableReplicas: Math.max(0, desired - available),
        conditions: [
          {
            type: 'Available',
            status: available >= desired ? 'True' : 'False',
            reason: available >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          },
          // The new ReplicaSet's pods refused at admission: said at once, as the deployment controller says it.
          ...(current.status?.conditions ?? []).filter((c: { type: string }) => c.type === 'ReplicaFailure'),
          {
            type: 'Progressing',
            status: exceeded ? 'False' : 'True',
            reason: exceeded ? 'ProgressDeadlineExceeded' : complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            message: exceeded
              ? `ReplicaSet "${current.metadata.name}" has timed out progressing.`
              : `ReplicaSet "${current.metadata.name}" is progressing.`,
          },
        ],
      };
      if (JSON.stringify(status) !== JSON.stringify(deployment.status))
        store.update('Deployment', namespace, name, (d) => (d.status = status), 'status');
    }
  };

  /** A pod of the ReplicaSet, as its controller creates it (admission may refuse it: 403). */
  const createPod = (rs: KubeObject, namespace: string) =>
    store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${rs.metadata.name}-${Math.random().toString(36).slice(2, 7)}`,
        namespace,
        labels: rs.spec.template.metadata?.labels ?? {},
        annotations: rs.spec.template.metadata?.annotations,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata.name,
            uid: rs.metadata.uid!,
            controller: true,
          },
        ],
      },
      spec: rs.spec.template.spec,
    });

  // ReplicaSets → Pods.
  const reconcileReplicaSets = () => {
    for (const rs of store.list('ReplicaSet')) {
      const namespace = rs.metadata.namespace!;
      const mine = store
        .list('Pod', namespace)
        .filter((p) => owned(p, rs) && !p.metadata.deletionTimestamp && !terminal(p));
      const want = rs.spec.replicas ?? 0;
      // Admission may refuse a pod (Pod Security, a quota): the ReplicaSet says so in its ReplicaFailure condition.
      let failure: { type: string; status: string; reason: string; message: string } | undefined;
      for (let i = mine.length; i < want && failure === undefined; i++) {
        try {
          createPod(rs, namespace);
        } catch (error) {
          if (!(error instanceof HttpError && error.status === 403)) throw error;
          failure = { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: error.message };
          if (!(rs.status?.conditions ?? []).some((c: { message?: string }) => c.message === error.message))
            event(rs, 'Warning', 'FailedCreate', `Error creating: ${error.message}`);
        }
      }
      // Scale down: not-ready pods first, then the newest.
      const extra = [...mine]
        .sort(
          (a, b) =>
            Number(podReady(a)) - Number(podReady(b)) ||
            b.metadata.creationTimestamp!.localeCompare(a.metadata.creationTimestamp!),
        )
        .slice(0, Math.max(0, mine.length - want));
      for (const pod of extra) store.delete('Pod', namespace, pod.metadata.name);
      const ready = mine.filter(podReady).length;
      const status = {
        replicas: mine.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
        ...(failure === undefined ? {} : { conditions: [failure] }),
      };
      if (JSON.stringify(status) !== JSON.stringify(rs.status))
        store.update('ReplicaSet', namespace, rs.metadata.name, (o) => (o.status = status), 'status');
    }
  };

  // The kubelet.
  const resolveEnv = (pod: KubeObject, container: any): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const source of container.envFrom ?? []) {
      const from = source.secretRef
        ? store.get('Secret', pod.metadata.namespace, source.secretRef.name)
        : source.configMapRef
          ? store.get('ConfigMap', pod.metadata.namespace, source.configMapRef.name)
          : undefined;
      for (const [key, value] of Object.entries((from?.data ?? {}) as Record<string, string>))
        env[key] = source.secretRef ? Buffer.from(value, 'base64').toString('utf8') : value;
    }
    for (const item of container.env ?? []) {
      if (item.value !== undefined) env[item.name] = item.value;
      else if (item.valueFrom?.secretKeyRef) {
        const secret = store.get('Secret', pod.metadata.namespace, item.valueFrom.secretKeyRef.name);
        const data = secret?.data as Record<string, string> | undefined;
        if (data?.[item.valueFrom.secretKeyRef.key] !== undefined)
          env[item.name] = Buffer.from(data[item.valueFrom.secretKeyRef.key]!, 'base64').toString('utf8');
      } else if (item.valueFrom?.configMapKeyRef) {
        const map = store.get('ConfigMap', pod.metadata.namespace, item.valueFrom.configMapKeyRef.name);
        env[item.name] = (map?.data as Record<string, string> | undefined)?.[item.valueFrom.configMapKeyRef.key];
      } else if (item.valueFrom?.fieldRef) {
        env[item.name] = String(
          item.valueFrom.fieldRef.fieldPath.split('.').reduce((o: any, k: string) => o?.[k], pod) ?? '',
        );
      }
    }
    return env;
  };

  /** What a volume shows of its ConfigMap's or Secret's data: the keys its `items` name (at their paths), else all. */
  const projected = (volume: any, data: Record<string, string>): Record<string, string> => {
    const items = (volume?.secret ?? volume?.configMap)?.items as Array<{ key: string; path: string }> | undefined;
    if (items === undefined) return data;
    return Object.fromEntries(items.filter((i) => data[i.key] !== undefined).map((i) => [i.path, data[i.key]!]));
  };

  /** Materialise the pod's volumes in its directory; returns how container paths map to local ones. */
  const mountVolumes = (pod: KubeObject, running: RunningPod, container: any): Array<[string, string]> => {
    const mounts: Array<[string, string]> = [];
    const configFiles: string[] = [];
    for (const mount of container.volumeMounts ?? []) {
      const volume = pod.spec.volumes?.find((v: { name: string }) => v.name === mount.name);
      const local = join(running.dir, 'volumes', mount.name);
      mkdirSync(local, { recursive: true });
      const source = volume?.configMap
        ? store.get('ConfigMap', pod.metadata.namespace, volume.configMap.name)
        : volume?.secret
          ? store.get('Secret', pod.metadata.namespace, volume.secret.secretName)
          : undefined;
      const data = projected(volume, (source?.data ?? {}) as Record<string, string>);
      if (volume?.secret)
        running.secretMounts.set(mount.name, {
          volume,
          secretName: volume.secret.secretName,
          local,
          written: JSON.stringify(data),
        });
      // The pod's own loopback and all its addresses are its address here (no network namespaces): 127.0.0.1 and
      // 0.0.0.0 in its files are the pod.
      for (const [key, value] of Object.entries(data)) {
        writeFileSync(
          join(local, key),
          volume?.secret
            ? Buffer.from(value, 'base64')
            : value.replaceAll('127.0.0.1', running.ip).replace(/(?<![\d.])0\.0\.0\.0(?![\d.])/g, running.ip),
          { mode: 0o600 },
        );
        if (volume?.configMap) configFiles.push(join(local, key));
      }
      mounts.push([mount.mountPath, local]);
    }
    // Paths in configuration files name the container's mounts (the data directory, a mounted key file): here, the pod's.
    for (const file of configFiles) {
      let text = readFileSync(file, 'utf8');
      for (const [from, to] of mounts)
        text = text
          .replaceAll(`${from}/`, `${to}/`)
          .replace(new RegExp(`(: )${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'gm'), `$1${to}`);
      writeFileSync(file, text, { mode: 0o600 });
    }
    return mounts;
  };

  /**
   * The kubelet's refresh of mounted Secrets: a changed Secret is written into the running pods that mount it,
   * each file replaced whole (written aside, renamed over), keys it no longer has removed.
   */
  let refreshHeld: Set<string> | 'all' = new Set();
  const refreshSecretMounts = () => {
    for (const running of pods.values()) {
      if (running.stopping || refreshHeld === 'all' || refreshHeld.has(running.name)) continue;
      for (const mount of running.secretMounts.values()) {
        const data = projected(
          mount.volume,
          (store.get('Secret', running.namespace, mount.secretName)?.data ?? {}) as Record<string, string>,
        );
        const now = JSON.stringify(data);
        if (now === mount.written) continue;
        for (const key of Object.keys(JSON.parse(mount.written) as Record<string, string>))
          if (data[key] === undefined) rmSync(join(mount.local, key), { force: true });
        for (const [key, value] of Object.entries(data)) {
          const aside = join(mount.local, `..${key}.tmp`);
          writeFileSync(aside, Buffer.from(value, 'base64'), { mode: 0o600 });
          renameSync(aside, join(mount.local, key));
        }
        mount.written = now;
      }
    }
  };

  /** Write the pod's status from what its containers do. */
  const publish = (pod: KubeObject, running: RunningPod) => {
    const ready = running.containers.every((c) => c.ready);
    store.update(
      'Pod',
      running.namespace,
      running.name,
      (p) => {
        p.status = {
          phase: 'Running',
          podIP: running.ip,
          podIPs: [{ ip: running.ip }],
          hostIP: '127.0.0.1',
          startTime: p.status?.startTime ?? new Date().toISOString(),
          conditions: [
            { type: 'PodScheduled', status: 'True' },
            { type: 'Ready', status: ready ? 'True' : 'False' },
          ],
          containerStatuses: running.containers.map((c, i) => ({
            name: c.name,
            image: pod.spec.containers[i].image,
            imageID: '',
            ready: c.ready,
            started: c.child !== undefined,
            restartCount: c.restarts,
            state:
              c.child !== undefined
                ? { running: { startedAt: new Date().toISOString() } }
                : { waiting: c.waiting ?? { reason: 'ContainerCreating', message: '' } },
            ...(c.lastExit ? { lastState: { terminated: { exitCode: 1, reason: 'Error', message: c.lastExit } } } : {}),
          })),
        };
      },
      'status',
    );
  };

  /**
   * A pod's credentials for the API server, as a real kubelet mounts its service account's token: here a kubeconfig
   * in the pod's directory, named by KUBECONFIG (a process cannot be given the fixed in-cluster paths). Every pod
   * has one unless its spec turns the token off. The fake API server accepts any token: it records requests for
   * the Role checks (rbac.ts), it does not refuse them. Returns the whole environment the pod starts from.
   */
  const serviceAccountEnv = (pod: KubeObject, running: RunningPod): NodeJS.ProcessEnv => {
    const base: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    // Never the test runner's cluster credentials: a pod has its own, or none.
    delete base.KUBECONFIG;
    if (pod.spec.automountServiceAccountToken === false) return base;
    const file = join(running.dir, 'serviceaccount.kubeconfig');
    writeFileSync(file, kubeconfigFor(pod.spec.serviceAccountName ?? 'default', pod.metadata.namespace ?? 'default'), {
      mode: 0o600,
    });
    return { ...base, KUBECONFIG: file };
  };

  /** The local command of a container: guardgate (this package's CLI), or the fake model server (images fake-vllm:*). */
  const commandOf = (container: any, ip: string, local: (arg: string) => string): string[] => {
    if (String(container.image).startsWith('fake-vllm')) {
      const port = container.ports?.[0]?.containerPort ?? 8000;
      // tsx by its resolved location: the container runs in the pod's directory, away from node_modules.
      return [
        '--import',
        import.meta.resolve('tsx'),
        fileURLToPath(new URL('./fake-model-server.ts', import.meta.url)),
        '--host',
        ip,
        '--port',
        String(port),
      ];
    }
    const command: string[] = [...(container.command ?? []), ...(container.args ?? [])];
    if (command[0] !== 'guardgate')
      throw new Error(`the fake kubelet runs guardgate and fake-vllm containers only, not ${command[0]}`);
    // The pod's own network namespace: what listens on all addresses listens on the pod's address.
    return [
      CLI,
      ...command
        .slice(1)
        .map(local)
        .map((arg, i, all) => (all[i - 1] === '--host' && arg === '0.0.0.0' ? ip : arg)),
    ];
  };

  const startContainer = (pod: KubeObject, running: RunningPod, index: number) => {
    const container = pod.spec.containers[index];
    const state = running.containers[index]!;
    if (badImages.has(container.image)) {
      if (state.waiting?.reason !== 'ImagePullBackOff')
        event(pod, 'Warning', 'Failed', `Failed to pull image "${container.image}": not found`);
      state.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${container.image}"` };
      state.nextStart = Date.now() + 10 * secondMs;
      publish(pod, running);
      return;
    }
    const mounts = mountVolumes(pod, running, container);
    const local = (arg: string) => {
      for (const [from, to] of mounts)
        if (arg === from || arg.startsWith(`${from}/`)) return to + arg.slice(from.length);
      return arg;
    };
    const looping = crashLooping.has(`${running.name}/${container.name}`);
    const child = spawn(
      process.execPath,
      looping
        ? ['-e', 'console.error("fatal: crash-looping on purpose"); process.exit(1)']
        : commandOf(container, running.ip, local),
      {
        cwd: running.dir,
        env: { ...serviceAccountEnv(pod, running), ...resolveEnv(pod, container) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-1_000)));
    state.child = child;
    state.exited = false;
    state.waiting = undefined;
    publish(pod, running);
    child.once('exit', (code, signal) => {
      state.exited = true;
      state.child = undefined;
      state.ready = false;
      if (running.stopping || closed) return;
      state.restarts++;
      state.lastExit = `exit ${code ?? signal}: ${stderr.trim().split('\n').at(-1) ?? ''}`;
      // Back-off: 1, 2, 4, ... "seconds", at most 30.
      state.nextStart = Date.now() + Math.min(30, 2 ** (state.restarts - 1)) * secondMs;
      state.waiting = { reason: 'CrashLoopBackOff', message: state.lastExit };
      event(
        pod,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${container.name} in pod ${running.name} (${state.lastExit})`,
      );
      publish(pod, running);
    });
  };

  const probe = async (pod: KubeObject, running: RunningPod, index: number) => {
    const container = pod.spec.containers[index];
    const state = running.containers[index]!;
    const check = container.readinessProbe?.httpGet;
    if (state.probing || state.child === undefined) return;
    state.probing = true;
    let ready = check === undefined;
    if (check !== undefined) {
      const port =
        typeof check.port === 'number'
          ? check.port
          : container.ports?.find((p: { name?: string }) => p.name === check.port)?.containerPort;
      try {
        const response = await fetch(`http://${running.ip}:${port}${check.path ?? '/'}`, {
          signal: AbortSignal.timeout(1_000),
        });
        ready = response.status >= 200 && response.status < 400;
      } catch {
        ready = false;
      }
    }
    state.probing = false;
    if (running.stopping || state.child === undefined || ready === state.ready) return;
    state.ready = ready;
    publish(pod, running);
  };

  const stopPod = async (pod: KubeObject, running: RunningPod) => {
    running.stopping = true;
    const grace = (pod.spec.terminationGracePeriodSeconds ?? 30) * secondMs;
    await Promise.all(
      running.containers.map(async (state, index) => {
        // preStop sleep: the container still serves while its endpoint's removal propagates.
        const sleep = pod.spec.containers[index].lifecycle?.preStop?.sleep?.seconds;
        if (sleep !== undefined && state.child !== undefined)
          await new Promise((resolve) => setTimeout(resolve, sleep * secondMs));
        state.ready = false;
        const child = state.child;
        if (child === undefined || state.exited) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), grace);
        await new Promise((resolve) => (state.exited ? resolve(undefined) : child.once('exit', resolve)));
        clearTimeout(killer);
      }),
    );
    pods.delete(`${running.namespace}/${running.name}`);
    try {
      store.delete('Pod', running.namespace, running.name, { graceful: false });
    } catch {
      // already gone
    }
  };

  // The scheduler: GPUs are counted per node, over the pods bound there that have not ended.
  const gpusOf = (pod: KubeObject): number =>
    (pod.spec.containers as any[]).reduce(
      (sum, c) =>
        sum + Number(c.resources?.limits?.['nvidia.com/gpu'] ?? c.resources?.requests?.['nvidia.com/gpu'] ?? 0),
      0,
    );
  /** The node with the most free GPUs that covers `gpus`, or undefined. */
  const scheduleOn = (gpus: number): string | undefined => {
    const bound = store.list('Pod').filter((p) => p.spec.nodeName !== undefined && !terminal(p));
    const free = nodes.map((n) => ({
      name: n.name,
      free: n.gpus - bound.filter((p) => p.spec.nodeName === n.name).reduce((sum, p) => sum + gpusOf(p), 0),
    }));
    return free.filter((n) => n.free >= gpus).sort((a, b) => b.free - a.free)[0]?.name;
  };

  const reconcilePods = () => {
    for (const pod of store.list('Pod')) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      let running = pods.get(key);
      if (terminal(pod) && !pod.metadata.deletionTimestamp) continue;
      if (pod.metadata.deletionTimestamp) {
        if (running === undefined) store.delete('Pod', pod.metadata.namespace, pod.metadata.name, { graceful: false });
        else if (!running.stopping) void stopPod(pod, running);
        continue;
      }
      if (running === undefined) {
        const gpus = gpusOf(pod);
        const node = scheduleOn(gpus);
        if (node === undefined) {
          const refusal = `0/${nodes.length} nodes are available: ${nodes.length} Insufficient nvidia.com/gpu.`;
          if (pod.status?.phase !== 'Pending') {
            store.update(
              'Pod',
              pod.metadata.namespace,
              pod.metadata.name,
              (p) =>
                (p.status = {
                  phase: 'Pending',
                  conditions: [
                    {
                      type: 'PodScheduled',
                      status: 'False',
                      reason: 'Unschedulable',
                      message: refusal,
                    },
                  ],
                }),
              'status',
            );
            event(pod, 'Warning', 'FailedScheduling', `${refusal.slice(0, -1)} (wanted ${gpus}).`);
          }
          continue;
        }
        const n = nextIp++;
        running = {
          name: pod.metadata.name,
          namespace: pod.metadata.namespace!,
          ip: `127.${block.base}.${n >> 8}.${n & 255}`,
          dir: join(root, pod.metadata.name),
          stopping: false,
          secretMounts: new Map(),
          containers: (pod.spec.containers as Array<{ name: string }>).map((c) => ({
            name: c.name,
            child: undefined,
            restarts: 0,
            ready: false,
            exited: true,
            nextStart: 0,
            probing: false,
            lastExit: undefined,
            waiting: undefined,
          })),
        };
        mkdirSync(running.dir, { recursive: true });
        pods.set(key, running);
        store.update('Pod', running.namespace, running.name, (p) => (p.spec.nodeName = node));
      }
      running.containers.forEach((state, index) => {
        if (state.child === undefined && !running!.stopping && Date.now() >= state.nextStart)
          startContainer(store.get('Pod', running!.namespace, running!.name)!, running!, index);
        else if (state.child !== undefined) void probe(pod, running!, index);
      });
    }
  };

  // The service proxy.
  const reconcileServices = () => {
    for (const service of store.list('Service')) {
      // A headless Service (clusterIP None) has no virtual address: kube-proxy leaves it to DNS.
      if (service.spec?.clusterIP === 'None') continue;
      const key = `${service.metadata.namespace}/${service.metadata.name}`;
      let views = proxies.get(key);
      if (views === undefined) {
        const created: ServiceProxy[] = nodes.map((_, node) => ({
          ip: nodeAddress(service.spec.clusterIP, node),
          servers: [],
          endpoints: [],
          wanted: [],
          applied: 0,
          sockets: new Set(),
        }));
        views = created;
        proxies.set(key, created);
        for (const proxy of created)
          for (const port of service.spec.ports ?? []) {
            const server = createServer((client) => {
              const endpoint = proxy.endpoints[Math.floor(Math.random() * proxy.endpoints.length)];
              if (endpoint === undefined) return void client.destroy();
              const upstream = connect(endpoint.port, endpoint.ip);
              proxy.sockets.add(client);
              client.once('close', () => proxy.sockets.delete(client));
              client.pipe(upstream).pipe(client);
              const end = () => {
                client.destroy();
                upstream.destroy();
              };
              client.on('error', end);
              upstream.on('error', end);
              upstream.on('close', end);
            });
            server.listen(port.port, proxy.ip);
            proxy.servers.push(server);
          }
      }
      // The endpoint slice controller: the Service's pods, ready or not, as an EndpointSlice.
      const selector = service.spec.selector as Record<string, string> | undefined;
      const target = service.spec.ports?.[0]?.targetPort ?? service.spec.ports?.[0]?.port;
      const selected =
        selector === undefined || Object.keys(selector).length === 0
          ? []
          : store
              .list('Pod', service.metadata.namespace)
              .filter(
                (p) =>
                  p.status?.podIP &&
                  !terminal(p) &&
                  Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
              );
      const port = (p: KubeObject) =>
        typeof target === 'number'
          ? target
          : p.spec.containers[0].ports?.find((q: { name?: string }) => q.name === target)?.containerPort;
      const slice = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${service.metadata.name}-fake`,
          namespace: service.metadata.namespace,
          labels: { 'kubernetes.io/service-name': service.metadata.name },
        },
        addressType: 'IPv4',
        endpoints: selected.map((p) => ({
          addresses: [p.status.podIP],
          conditions: {
            ready: podReady(p) && !p.metadata.deletionTimestamp,
            terminating: Boolean(p.metadata.deletionTimestamp),
          },
          targetRef: { kind: 'Pod', name: p.metadata.name, namespace: p.metadata.namespace },
        })),
        ports: [
          {
            name: service.spec.ports?.[0]?.name ?? '',
            port: selected[0] ? port(selected[0]) : typeof target === 'number' ? target : 80,
            protocol: 'TCP',
          },
        ],
      };
      const existing = store.get('EndpointSlice', service.metadata.namespace, slice.metadata.name);
      if (existing === undefined) store.create(slice as KubeObject);
      else if (
        JSON.stringify({ e: existing.endpoints, p: existing.ports }) !==
        JSON.stringify({ e: slice.endpoints, p: slice.ports })
      ) {
        store.update('EndpointSlice', service.metadata.namespace, slice.metadata.name, (o) =>
          Object.assign(o, { endpoints: slice.endpoints, ports: slice.ports }),
        );
      }
      // Each node's kube-proxy: the ready endpoints of the slice, as they were that node's delay ago, in order.
      const endpoints = slice.endpoints
        .filter((e) => e.conditions.ready)
        .map((e, i) => ({
          ip: e.addresses[0] as string,
          port: port(selected.find((p) => p.status.podIP === e.addresses[0]) ?? selected[i]!) as number,
        }));
      views.forEach((proxy, node) => {
        if (JSON.stringify(endpoints) === JSON.stringify(proxy.wanted)) return;
        proxy.wanted = endpoints;
        const change = ++changes;
        const apply = () => {
          if (change < proxy.applied) return;
          proxy.applied = change;
          proxy.endpoints = endpoints;
        };
        if (nodeDelays[node] === 0) apply();
        else setTimeout(apply, nodeDelays[node]).unref();
      });
    }
  };

  // The Gateway: an L7 proxy that routes every request by the HTTPRoutes attached to it (the Gateway API's match
  // precedence, weighted backends, RequestMirror), as they were `propagationDelayMs` ago. Per request: no pinning.
  const gatewayName = options.gatewayName ?? 'guardgate-gateway';
  let routes: KubeObject[] = [];
  const gatewayAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const endpointOf = (namespace: string, service: string) => {
    // The Gateway's data plane runs on the first node: its kube-proxy's view.
    const endpoints = proxies.get(`${namespace}/${service}`)?.[0]?.endpoints ?? [];
    return endpoints[Math.floor(Math.random() * endpoints.length)];
  };
  const forward = (
    endpoint: { ip: string; port: number },
    req: IncomingMessage,
    body: Buffer,
    res?: ServerResponse,
  ) => {
    const upstream = httpRequest(
      {
        host: endpoint.ip,
        port: endpoint.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `${endpoint.ip}:${endpoint.port}` },
        agent: gatewayAgent,
      },
      (answer) => {
        if (res === undefined) return void answer.resume();
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res?.headersSent === false && res.writeHead(502).end());
    upstream.end(body);
  };
  const gateway = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const { route, rule } = routeRequest(routes, req.url ?? '/', {
        host: req.headers.host ?? '',
        method: req.method ?? 'GET',
        headers: req.headers,
      }) ?? { route: undefined, rule: undefined };
      const refs = (rule?.backendRefs ?? []) as Array<{ name: string; port: number; weight?: number }>;
      const total = refs.reduce((a, r) => a + (r.weight ?? 1), 0);
      let draw = Math.random() * total;
      const chosen = refs.find((r) => (draw -= r.weight ?? 1) < 0);
      const endpoint = chosen && endpointOf(route!.metadata.namespace!, chosen.name);
      if (endpoint === undefined)
        return void res.writeHead(503, { 'content-type': 'text/plain' }).end('no healthy upstream');
      for (const filter of rule.filters ?? []) {
        if (filter.type !== 'RequestMirror') continue;
        const mirror = endpointOf(route!.metadata.namespace!, filter.requestMirror.backendRef.name);
        if (mirror !== undefined) forward(mirror, req, body);
      }
      forward(endpoint, req, body, res);
    });
  });
  const gatewayIp = `127.${block.base + 1}.255.1`;
  await new Promise<void>((resolve) => gateway.listen(80, gatewayIp, resolve));
  /** The Gateway reports on each route it took, for that route's generation: Accepted, and ResolvedRefs when every backend Service exists (again when Services come or go). */
  const reportOn = (route: KubeObject) => {
    const namespace = route.metadata.namespace!;
    const missing = [
      ...new Set<string>(
        (route.spec.rules ?? []).flatMap((r: any) => (r.backendRefs ?? []).map((b: { name: string }) => b.name)),
      ),
    ].filter((name) => store.get('Service', namespace, name) === undefined);
    const condition = (type: string, ok: boolean, reason: string, message: string) => ({
      type,
      status: ok ? 'True' : 'False',
      reason,
      message,
      observedGeneration: route.metadata.generation,
      lastTransitionTime: new Date().toISOString(),
    });
    const parent = {
      parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: gatewayName },
      controllerName: 'fake.guardgate.dev/gateway',
      conditions: [
        condition('Accepted', true, 'Accepted', 'Accepted by the fake Gateway'),
        missing.length === 0
          ? condition('ResolvedRefs', true, 'ResolvedRefs', 'every backend resolved')
          : condition('ResolvedRefs', false, 'BackendNotFound', `backend Services not found: ${missing.join(', ')}`),
      ],
    };
    const same = (status: any) =>
      JSON.stringify(
        status?.parents?.[0]?.conditions?.map((c: any) => [c.type, c.status, c.message, c.observedGeneration]),
      ) === JSON.stringify(parent.conditions.map((c) => [c.type, c.status, c.message, c.observedGeneration]));
    try {
      if (!same(store.get('HTTPRoute', namespace, route.metadata.name)?.status))
        store.update('HTTPRoute', namespace, route.metadata.name, (r) => (r.status = { parents: [parent] }), 'status');
    } catch {
      // deleted meanwhile
    }
  };
  const reconcileGateway = () => {
    const attached = store
      .list('HTTPRoute')
      .filter((r) => r.spec.parentRefs?.some((p: { name: string }) => p.name === gatewayName));
    if (JSON.stringify(attached.map((r) => r.spec)) === JSON.stringify(routes.map((r) => r.spec))) {
      // The routes it took: their backends may have appeared or gone since.
      for (const route of attached)
        if (
          route.metadata.generation === routes.find((r) => r.metadata.name === route.metadata.name)?.metadata.generation
        )
          reportOn(route);
      return;
    }
    const take = () => {
      routes = attached;
      for (const route of attached) reportOn(route);
    };
    if (propagationDelayMs === 0) take();
    else setTimeout(take, propagationDelayMs).unref();
  };

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking || closed) return;
    ticking = true;
    try {
      reconcileDeployments();
      reconcileReplicaSets();
      reconcilePods();
      refreshSecretMounts();
      reconcileServices();
      reconcileGateway();
    } catch (error) {
      if (!closed) process.stderr.write(`fake cluster: ${(error as Error).stack}\n`);
    } finally {
      ticking = false;
    }
  }, tickMs);

  const kubeconfig = kubeconfigFor('tester', 'default');
  return {
    api,
    kubeconfig,
    badImages,
    gatewayUrl: `http://${gatewayIp}:80`,
    crash: (podName: string) => {
      for (const running of pods.values()) if (running.name === podName) running.containers[0]?.child?.kill('SIGKILL');
    },
    setPropagationDelay: (ms: number, node?: string) => {
      const changed = node === undefined ? nodes.map((_, i) => i) : [nodeIndex(node)];
      if (node === undefined) propagationDelayMs = ms;
      // What is still on its way is sent again at the new pace (a change that arrives later counts less).
      for (const i of changed) {
        nodeDelays[i] = ms;
        for (const views of proxies.values()) views[i]!.wanted = views[i]!.endpoints;
      }
    },
    holdSecretRefresh: (held: string[] | 'all' | 'none') => {
      refreshHeld = held === 'all' ? 'all' : new Set(held === 'none' ? [] : held);
    },
    crashLoop: (podName: string, containerName = 'guardgate') => {
      crashLooping.add(`${podName}/${containerName}`);
      for (const running of pods.values())
        if (running.name === podName) running.containers.find((c) => c.name === containerName)?.child?.kill('SIGKILL');
    },
    evict: (podName: string) => {
      const running = [...pods.values()].find((r) => r.name === podName);
      if (running === undefined) throw new Error(`no running pod ${podName} to evict`);
      running.stopping = true;
      pods.delete(`${running.namespace}/${running.name}`);
      for (const state of running.containers) state.child?.kill('SIGKILL');
      store.update(
        'Pod',
        running.namespace,
        running.name,
        (p) => {
          p.status = {
            ...p.status,
            phase: 'Failed',
            reason: 'Evicted',
            message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi.',
            conditions: [
              { type: 'PodScheduled', status: 'True' },
              { type: 'Ready', status: 'False', reason: 'PodFailed' },
            ],
            containerStatuses: running.containers.map((c, i) => ({
              name: c.name,
              image: p.spec.containers[i].image,
              imageID: '',
              ready: false,
              restartCount: c.restarts,
              state: { terminated: { exitCode: 137, reason: 'Evicted' } },
            })),
          };
        },
        'status',
      );
      const pod = store.get('Pod', running.namespace, running.name)!;
      event(pod, 'Warning', 'Evicted', 'The node was low on resource: memory.');
    },
    serviceUrl: (name: string, namespace = 'default', node?: string) => {
      const proxy = proxies.get(`${namespace}/${name}`)?.[node === undefined ? 0 : nodeIndex(node)];
      const service = store.get('Service', namespace, name);
      return proxy && service ? `http://${proxy.ip}:${service.spec.ports[0].port}` : undefined;
    },
    close: async () => {
      closed = true;
      clearInterval(timer);
      await Promise.all(
        [...pods.values()].flatMap((running) =>
          running.containers.map(
            (state) =>
              new Promise<void>((resolve) => {
                if (state.child === undefined || state.exited) return resolve();
                running.stopping = true;
                state.child.once('exit', () => resolve());
                state.child.kill('SIGTERM');
                setTimeout(() => state.child?.kill('SIGKILL'), 5_000).unref();
              }),
          ),
        ),
      );
      gateway.closeAllConnections();
      gateway.close();
      gatewayAgent.destroy();
      for (const proxy of [...proxies.values()].flat()) {
        for (const socket of proxy.sockets) socket.destroy();
        for (const server of proxy.servers) server.close();
      }
      await api.close();
      block.release();
    },
  };
}

/** A kubeconfig (YAML) for the API server at `server`, as `user`, in `namespace`. */
function kubeconfigOf(server: string, user: string, namespace: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${server}
    # plain HTTP on loopback: the client allows it only with this set
    insecure-skip-tls-verify: true
users:
- name: ${user}
  user:
    token: fake-token
contexts:
- name: fake
  context:
    cluster: fake
    user: ${user}
    namespace: ${namespace}
current-context: fake
`;
}
