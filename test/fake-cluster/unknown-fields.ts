// Fields a kind's schema does not know, found as the API server finds them: it decodes a write into its typed
// objects, and what has no place there is dropped (fieldValidation=Warn, the default: with a Warning header) or
// refused (fieldValidation=Strict: 400 "strict decoding error"). The schema of a built-in kind is the one
// client-node's typed models carry (each model's attribute map); a custom resource's (HTTPRoute, Rollout,
// ServiceMonitor) is its CRD's structural schema, as the kubernetes-models packages hold it (fields under
// `x-kubernetes-preserve-unknown-fields` are kept, as the API server keeps them).
import * as models from '@kubernetes/client-node';
import { createRequire } from 'node:module';

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
 * (`spec.template.spec.containers[0].imagePullPolcy`), removed from it; a custom resource's by the JSON schema
 * its kubernetes-models class (`customModel`) registers.
 */
export function dropUnknownFields(object: unknown, apiVersion: string, kind: string, customModel?: string): string[] {
  const model = modelOf(apiVersion, kind);
  const found: string[] = [];
  if (model !== undefined) walk(object, model, '', found);
  else if (customModel !== undefined) {
    // A Rollout's pod template is Kubernetes' own: checked by the built-in model, since the packaged Argo Rollouts
    // schema predates fields its CRD knows today (a preStop sleep).
    const spec = (object as { spec?: { template?: unknown } } | null)?.spec;
    const template = kind === 'Rollout' ? spec?.template : undefined;
    if (template !== undefined) delete spec!.template;
    walkSchema(object, customSchema(customModel, kind), '', found);
    if (template !== undefined) {
      walk(template, 'V1PodTemplateSpec', 'spec.template', found);
      spec!.template = template;
    }
  }
  return found.sort();
}

type JsonSchema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
};

const require = createRequire(import.meta.url);
const schemas = new Map<string, JsonSchema>();

/**
 * The JSON schemas a kubernetes-models class registers for validation (its own and those it refers to), taken as
 * it registers them: its validation module is wrapped, then the class's schema registration run once more.
 */
function customSchema(model: string, kind: string): JsonSchema | undefined {
  const modelPath = require.resolve(model);
  const validation = require(createRequire(modelPath).resolve('@kubernetes-models/validate')) as {
    register: (id: string, schema: JsonSchema) => void;
    capturing?: boolean;
  };
  if (validation.capturing !== true) {
    const register = validation.register;
    validation.register = (id, schema) => {
      schemas.set(id, schema);
      register(id, schema);
    };
    validation.capturing = true;
  }
  const prototype = (require(modelPath) as Record<string, { prototype: object }>)[kind]!.prototype as Record<
    symbol,
    unknown
  >;
  // kubernetes-models' setSchema keeps the schema's id and its registration under these symbols on the class.
  const symbol = (name: string) => Object.getOwnPropertySymbols(prototype).find((s) => s.description === name);
  const idSymbol = symbol('SCHEMA_ID');
  const addSymbol = symbol('ADD_SCHEMA');
  if (idSymbol === undefined || addSymbol === undefined) return undefined;
  (prototype[addSymbol] as () => void)();
  return schemas.get(prototype[idSymbol] as string);
}

function walkSchema(value: unknown, schema: JsonSchema | undefined, path: string, found: string[]): void {
  if (schema === undefined || value === null || typeof value !== 'object') return;
  if (schema.$ref !== undefined) return walkSchema(value, schemas.get(schema.$ref.replace(/#$/, '')), path, found);
  const branch = (schema.oneOf ?? schema.anyOf ?? schema.allOf)?.find((s) => s.type !== 'null');
  if (branch !== undefined) return walkSchema(value, branch, path, found);
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walkSchema(item, schema.items, `${path}[${i}]`, found));
    return;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const at = path === '' ? key : `${path}.${key}`;
    const known = schema.properties?.[key];
    if (known !== undefined) walkSchema(object[key], known, at, found);
    else if (typeof schema.additionalProperties === 'object')
      walkSchema(object[key], schema.additionalProperties, at, found);
    else if (schema.properties !== undefined && schema.additionalProperties !== true) {
      found.push(at);
      delete object[key];
    }
  }
}
