// The two colors, with the Guardgate controller: blue runs the release spec, green is the standby at zero
// replicas. Made by the very functions the Kubernetes driver uses, with the pod configuration it writes, so
// that the controller adopts them as they are (test/deploy/render.test.ts compares the two). After the
// first sync the controller owns them: every release rewrites the standby (docs/kubernetes.md: Argo CD ignoreDifferences).
import {
  colorService,
  configMap,
  deployment,
  RETIRE_ANNOTATION,
  type KubernetesSettings,
} from '../drivers/kubernetes/manifests.js';
import { kubernetesPodConfig } from '../drivers/kubernetes/pod-config.js';
import { environmentOf } from '../release/environment.js';
import { authSchema } from '../config/auth.js';
import type { ReleaseSpec } from '../release/spec.js';
import { COLORS } from '../vocabulary/colors.js';
import { disruptionBudget, type KubeObject } from './meta.js';
import { renderedAuth, secretNames, type RenderOptions } from './options.js';

/** The driver's settings as the rendered controller runs it (up.yaml: the same defaults; pods log at warn under up at info). */
export function renderSettings(options: RenderOptions, logLevel = 'warn'): KubernetesSettings {
  const auth = authSchema.parse(renderedAuth(options));
  return {
    namespace: options.namespace,
    app: options.app,
    image: options.image,
    port: options.port,
    instanceConfig: kubernetesPodConfig(auth, secretNames(options).apiKeys),
    envSecret: `${options.app}-env`,
    apiKeysSecret: secretNames(options).apiKeys,
    terminationGraceSeconds: 30,
    progressDeadlineSeconds: 600,
    logLevel,
  };
}

/** The objects of both colors' environments, for `k8s render`. */
export function environmentObjects(spec: ReleaseSpec, options: RenderOptions): KubeObject[] {
  const settings = renderSettings(options);
  return COLORS.flatMap((color) => {
    const environment = environmentOf(spec, color, color === 'blue' ? spec.replicas : 0);
    // Git holds these objects: the controller retires a color to zero replicas, never deletes it (Argo CD would heal it back).
    const plain = deployment(environment, settings, environment.replicas);
    const rendered = {
      ...plain,
      metadata: { ...plain.metadata, annotations: { ...plain.metadata.annotations, [RETIRE_ANNOTATION]: 'scale-to-zero' } },
    };
    return [
      configMap(environment, settings),
      rendered,
      colorService(color, settings),
      disruptionBudget(options, `${options.app}-${color}`, { app: options.app, color }, { color }),
    ] as KubeObject[];
  });
}
