// Metadata every rendered object shares: its name and namespace, the app label, and who manages it.
import type { RenderOptions } from './options.js';

/** A Kubernetes object as rendered. */
export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>;

/** The label every rendered object carries. */
export const PART_OF = 'app.kubernetes.io/part-of';

/** name, namespace and labels (app, part-of, and any more given). */
export const meta = (options: RenderOptions, name: string, labels: Record<string, string> = {}, annotations?: Record<string, string>) => ({
  name,
  namespace: options.namespace,
  labels: { app: options.app, [PART_OF]: 'guardgate', ...labels },
  ...(annotations === undefined ? {} : { annotations }),
});

/** A Service's cluster-internal URL. */
export const serviceUrl = (options: RenderOptions, name: string, port?: number): string => `http://${name}.${options.namespace}.svc${port === undefined || port === 80 ? '' : `:${port}`}`;

/** A PodDisruptionBudget: a drained node never takes more than one pod of these at once. */
export function disruptionBudget(options: RenderOptions, name: string, selector: Record<string, string>, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(options, name, labels), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } };
}
