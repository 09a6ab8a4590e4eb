// How environments come to exist: one interface, implemented by the local driver (processes on this
// machine) and, later, the Kubernetes driver (Deployments and Services). Drivers know nothing of gates.
import type { EngineSpec } from '../config/engine.js';
import type { Policy } from '../moderation/taxonomy.js';
import type { Color } from '../vocabulary/colors.js';

/** What a driver deploys as one color: version, engine, policy, replicas (and, on Kubernetes, image and model server). */
export interface EnvironmentSpec {
  color: Color;
  version: string;
  engine: EngineSpec;
  policy: Policy;
  replicas: number;
  /** Kubernetes: the Guardgate image of the pods (default: the driver's). */
  image?: string | undefined;
  /** Kubernetes: the model server as a second container of every pod (the engine talks to it on the pod's loopback). */
  modelServer?: ModelServerSpec | undefined;
}

/** A model server beside each Guardgate container (Kubernetes only). */
export interface ModelServerSpec {
  image: string;
  args: string[];
  port: number;
  gpus: number;
}

/** Where an instance is in its life. */
export type InstanceState = 'starting' | 'ready' | 'restarting' | 'stopped';

/** One instance of an environment, as the driver sees it. */
export interface InstanceInfo {
  url: string;
  state: InstanceState;
  restarts: number;
  /** What an operator calls it, where that differs from its URL (a pod's name). */
  name?: string;
}

/** An environment as deployed: its version, size and instances. */
export interface Deployment {
  color: Color;
  version: string;
  replicas: number;
  instances: InstanceInfo[];
}

/** Where environments run: processes on this machine, or Deployments on Kubernetes (one contract test for both). */
export interface Driver {
  readonly kind: 'local' | 'kubernetes';
  /** Why this driver cannot deploy the spec (checked before a release starts), or undefined. */
  cannotDeploy(spec: EnvironmentSpec): string | undefined;
  /**
   * Take into view the environment of this color that already runs (it outlived the previous controller),
   * without changing, restarting or redeploying it; null when nothing of this color runs.
   */
  adopt(spec: EnvironmentSpec): Promise<Deployment | null>;
  /** Create the environment and wait until every instance is ready; fails (and cleans up) past the deadline or on a crash loop. */
  deploy(spec: EnvironmentSpec): Promise<Deployment>;
  /** Change the number of instances, waiting for new ones to be ready. */
  scale(color: Color, replicas: number): Promise<Deployment>;
  /** Stop every instance of the environment (gracefully, then by force). */
  teardown(color: Color): Promise<void>;
  describe(color: Color): Deployment | null;
  /** Called when an environment's instances change outside a deploy or a scale (a pod replaced by its cluster). */
  onInstancesChanged?(listener: (deployment: Deployment) => void): void;
  /** Tear everything down. */
  close(): Promise<void>;
}

/** An instance to ask directly: a ready one when there is one (a crash-looping pod of a live color serves nothing). */
export const readyInstanceUrl = (deployment: Deployment | null): string | undefined =>
  deployment?.instances.find((i) => i.state === 'ready')?.url ?? deployment?.instances[0]?.url;

/** An environment could not be deployed (with the evidence); nothing of it is left behind. */
export class DeployError extends Error {
  override readonly name = 'DeployError';
}
