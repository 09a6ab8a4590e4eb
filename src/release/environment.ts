// The environment a release spec describes, in one color: what the controller deploys and what
// `guardgate k8s render` writes.
import type { Color } from '../vocabulary/colors.js';
import type { EnvironmentSpec } from '../drivers/driver.js';
import type { ReleaseSpec } from './spec.js';

/** The environment a release spec describes, in one color. */
export const environmentOf = (spec: ReleaseSpec, color: Color, replicas: number): EnvironmentSpec => ({
  color,
  version: spec.version,
  engine: spec.engine,
  policy: spec.policy,
  replicas,
  ...(spec.image ? { image: spec.image } : {}),
  ...(spec.modelServer ? { modelServer: spec.modelServer } : {}),
});
