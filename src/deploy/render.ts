// `guardgate k8s render`: a release spec and the render options as plain YAML files for kubectl, kustomize or
// Argo CD. Deterministic: the same input gives the same bytes (objects in a fixed order, files sorted, no
// timestamps), so that a GitOps diff shows only what changed. Secrets are named, never rendered.
import { stringify } from 'yaml';
import type { ReleaseSpec } from '../release/spec.js';
import { argoRolloutsFiles } from './argo-rollouts.js';
import { controllerObjects } from './controller-objects.js';
import { environmentObjects } from './environments.js';
import { gatewayRoute, ingress, routeTo, selectorServices } from './front-door.js';
import type { KubeObject } from './meta.js';
import { metricsSecret, monitoringObjects } from './monitoring.js';
import { secretNames, type RenderOptions } from './options.js';

/** One file `k8s render` writes. */
export interface RenderedFile {
  path: string;
  content: string;
}

/** The objects of each file, by file name. Pure. */
export function renderObjects(spec: ReleaseSpec, options: RenderOptions): Record<string, KubeObject[]> {
  const files: Record<string, KubeObject[]> = options.argoRollouts
    ? argoRolloutsFiles(spec, options)
    : {
        'controller.yaml': controllerObjects(spec, options),
        'environments.yaml': environmentObjects(spec, options),
        'front-door.yaml': options.traffic === 'gateway-api' ? [gatewayRoute(options)] : selectorServices(options),
      };
  // The public way in: a route on the Gateway when there is one, else an Ingress to the live Service.
  const publicDoor = options.gateway !== undefined && options.argoRollouts ? [routeTo(options, options.app)] : options.host !== undefined && options.traffic === 'service-selector' ? [ingress(options, options.app)] : [];
  if (publicDoor.length > 0) files[options.argoRollouts ? 'front-door.yaml' : 'ingress.yaml'] = publicDoor;
  if (options.monitoring) files['monitoring.yaml'] = monitoringObjects(options, !options.argoRollouts);
  return files;
}

/** YAML 1.1 quoting (kubectl's parser reads y, on, 0755 as YAML 1.1 does), no folded lines. */
const YAML_OPTIONS = { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false } as const;

/** The first line of every rendered file. */
export const HEADER = '# Rendered by guardgate k8s render: edit the release spec and render again rather than this file.\n';

/** What must exist before these files apply: the Secrets they name, with a way to make each. */
function secretsNote(options: RenderOptions): string[] {
  const names = secretNames(options);
  const lines = [
    `kubectl -n ${options.namespace} create secret generic ${names.apiKeys} --from-file=api-keys.json   # guardgate keys add NAME --file api-keys.json`,
    `kubectl -n ${options.namespace} create secret generic ${metricsSecret(options)} --from-literal=token=<an API key with scope metrics, for Prometheus>`,
  ];
  if (options.argoRollouts) {
    lines.unshift(
      `T=$(openssl rand -hex 32); kubectl -n ${options.namespace} create secret generic ${names.gates} --from-literal=token=$T --from-literal=token-sha256=$(printf %s "$T" | sha256sum | cut -d' ' -f1)`,
      `kubectl -n ${options.namespace} create secret generic ${options.app}-env --from-literal=DATABASE_URL=postgres://... --from-literal=REDIS_URL=redis://...`,
    );
  }
  else lines.unshift(`kubectl -n ${options.namespace} create secret generic ${names.controller} --from-literal=GUARDGATE_ADMIN_TOKEN=$(openssl rand -hex 32) --from-literal=DATABASE_URL=postgres://...`);
  if (options.host !== undefined && options.certManagerIssuer === undefined && options.traffic === 'service-selector' && options.gateway === undefined) lines.push(`kubectl -n ${options.namespace} create secret tls ${names.tls} --cert=tls.crt --key=tls.key`);
  return lines;
}

/** Every file, as text: the YAML files and a kustomization.yaml listing them. */
export function renderFiles(spec: ReleaseSpec, options: RenderOptions): RenderedFile[] {
  const objects = renderObjects(spec, options);
  const names = Object.keys(objects).sort();
  const files = names.map((path) => ({ path, content: HEADER + objects[path]!.map((o) => stringify(o, YAML_OPTIONS)).join('---\n') }));
  const kustomization =
    `${HEADER}# ${options.argoRollouts ? 'Argo Rollouts moves traffic; the gate runner proves the candidate.' : `The Guardgate controller moves traffic (${options.traffic}); environments.yaml is its starting point, and it owns the colors after that.`}\n` +
    `# Create these Secrets first (never rendered: they hold secret values):\n${secretsNote(options).map((l) => `#   ${l}\n`).join('')}` +
    stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: names }, YAML_OPTIONS);
  return [...files, { path: 'kustomization.yaml', content: kustomization }].sort((a, b) => a.path.localeCompare(b.path));
}
