// Fields a kind's schema does not know, found as the API server finds them: it decodes a write into its typed
// objects, and what has no place there is dropped (fieldValidation=Warn, the default: with a Warning header) or
// refused (fieldValidation=Strict: 400 "strict decoding error"). The schema here is the one client-node's typed
// models carry (each model's attribute map), for the built-in kinds; custom resources (HTTPRoute, Rollout,
// ServiceMonitor) are left alone, as a CRD without a structural schema would be.
import * as models from '@kubernetes/client-node';

interface Attribute {
  baseName: string;
  type: string;
}

const attributesOf = (type: string): Attribute[] | undefined =>
  (models as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] }>)[type]?.getAttributeTypeMap?.();

/** The model of a built-in kind (`apps/v1` `Deployment` → V1Deployment), or undefined for a custom resource. */
export function modelOf(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').at(-1)!;
  const name = `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
  if (attributesOf(name) !== undefined) return name;
  return attributesOf(`CoreV1${kind}`) !== undefined && apiVersion === 'v1' ? `CoreV1${kind}` : undefined;
}

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

function walk(value: unknown, type: string, path: string, found: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const array = ARRAY.exec(type);
  if (array !== null) {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, array[1]!, `${path}[${i}]`, found));
    return;
  }
  const map = MAP.exec(type);
  if (map !== null) {
    for (const [key, item] of Object.entries(value)) walk(item, map[1]!, `${path}.${key}`, found);
    return;
  }
  const attributes = attributesOf(type);
  if (attributes === undefined || Array.isArray(value)) return;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (key.startsWith('$')) continue; // a strategic merge patch's directive ($patch, $setElementOrder/…)
    const attribute = attributes.find((a) => a.baseName === key);
    const at = path === '' ? key : `${path}.${key}`;
    if (attribute === undefined) {
      found.push(at);
      delete object[key];
    } else walk(object[key], attribute.type, at, found);
  }
}

/**
 * The paths of the fields of `object` (an object of `kind`, or a patch of one) that the kind does not know
 * (`spec.template.spec.containers[0].imagePullPolcy`), removed from it.
 */
export function dropUnknownFields(object: unknown, apiVersion: string, kind: string): string[] {
  const model = modelOf(apiVersion, kind);
  const found: string[] = [];
  if (model !== undefined) walk(object, model, '', found);
  return found.sort();
}
