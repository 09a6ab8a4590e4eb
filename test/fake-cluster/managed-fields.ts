// Server-side apply and field ownership, as the API server keeps them in `metadata.managedFields`: every write
// records which manager set which fields; an apply (PATCH application/apply-patch+yaml) merges the applier's
// fields by the lists' merge keys, refuses (409) to change a field another manager set to another value unless
// forced, and removes the fields the applier set before and no longer sends (when nobody else set them too).
// Fields are named as fieldsV1 names them: `f:spec`, `f:replicas`, a list item by its keys `k:{"name":"guard"}`.
import { HttpError, type KubeObject } from './api-server.js';

/** One field: its path from the object's root, each step a fieldsV1 key. */
type Path = string[];

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** Fields the API server sets itself, owned by no manager. */
const SERVER_SET = new Set(['f:apiVersion', 'f:kind', 'f:status']);
const SERVER_SET_METADATA = new Set([
  'f:name',
  'f:namespace',
  'f:uid',
  'f:resourceVersion',
  'f:generation',
  'f:creationTimestamp',
  'f:deletionTimestamp',
  'f:managedFields',
  'f:generateName',
]);

/**
 * The merge keys of a list at `fields` (its field names from the root), as the Kubernetes schemas declare them
 * (`x-kubernetes-list-map-keys`); undefined: the list is atomic (replaced whole).
 */
function listKeys(fields: string[]): string[] | undefined {
  const name = fields.at(-1);
  if (name === 'containers' || name === 'initContainers' || name === 'env' || name === 'volumes') return ['name'];
  if (name === 'imagePullSecrets') return ['name'];
  if (name === 'volumeMounts') return ['mountPath'];
  if (name === 'ownerReferences') return ['uid'];
  if (name === 'conditions') return ['type'];
  if (name === 'topologySpreadConstraints') return ['topologyKey', 'whenUnsatisfiable'];
  if (name === 'ports') return fields.includes('containers') ? ['containerPort', 'protocol'] : ['port', 'protocol'];
  return undefined;
}

/** A keyed list item's name, `k:{"name":"guard"}` (a missing protocol is TCP, as defaulting makes it). */
function itemKey(item: Record<string, unknown>, keys: string[]): string {
  const named: Record<string, unknown> = {};
  for (const key of [...keys].sort()) named[key] = item[key] ?? (key === 'protocol' ? 'TCP' : undefined);
  return `k:${JSON.stringify(named)}`;
}

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every field `value` sets, leaves and keyed list items (an item is a field of its own, `.` in fieldsV1). */
function fieldsOf(value: unknown, at: Path = [], names: string[] = [], out: Path[] = []): Path[] {
  if (isMap(value) && (at.length === 0 || Object.keys(value).length > 0)) {
    for (const [key, child] of Object.entries(value)) {
      const step = `f:${key}`;
      if (at.length === 0 && SERVER_SET.has(step)) continue;
      if (at.length === 1 && at[0] === 'f:metadata' && SERVER_SET_METADATA.has(step)) continue;
      fieldsOf(child, [...at, step], [...names, key], out);
    }
    return out;
  }
  const keys = Array.isArray(value) ? listKeys(names) : undefined;
  if (Array.isArray(value) && keys !== undefined) {
    for (const item of value as Array<Record<string, unknown>>) {
      const itemPath = [...at, itemKey(item, keys)];
      out.push(itemPath);
      fieldsOf(item, itemPath, names, out);
    }
    return out;
  }
  out.push(at);
  return out;
}

const id = (path: Path) => path.join('\u0000');

/** The value at a path, or undefined. */
function valueAt(object: unknown, path: Path, names: string[] = []): unknown {
  let here: unknown = object;
  for (const step of path) {
    if (step.startsWith('f:')) {
      if (!isMap(here)) return undefined;
      names = [...names, step.slice(2)];
      here = here[step.slice(2)];
    } else {
      if (!Array.isArray(here)) return undefined;
      const keys = listKeys(names)!;
      here = (here as Array<Record<string, unknown>>).find((item) => itemKey(item, keys) === step);
    }
  }
  return here;
}

/** Remove the field at `path` from `object` (a list item: the item). */
function removeAt(object: Record<string, unknown>, path: Path): void {
  const parentPath = path.slice(0, -1);
  const names = parentPath.filter((s) => s.startsWith('f:')).map((s) => s.slice(2));
  const parent = valueAt(object, parentPath);
  const last = path.at(-1)!;
  if (last.startsWith('f:') && isMap(parent)) delete parent[last.slice(2)];
  else if (Array.isArray(parent)) {
    const keys = listKeys(names)!;
    const at = (parent as Array<Record<string, unknown>>).findIndex((item) => itemKey(item, keys) === last);
    if (at >= 0) parent.splice(at, 1);
  }
}

/** `applied` merged into `current`: maps field by field, keyed lists item by item, the rest replaced. */
function merge(current: unknown, applied: unknown, names: string[] = []): unknown {
  if (isMap(applied)) {
    const out: Record<string, unknown> = isMap(current) ? { ...current } : {};
    for (const [key, value] of Object.entries(applied)) out[key] = merge(out[key], value, [...names, key]);
    return out;
  }
  const keys = Array.isArray(applied) ? listKeys(names) : undefined;
  if (Array.isArray(applied) && keys !== undefined && Array.isArray(current)) {
    const out = [...(current as Array<Record<string, unknown>>)];
    for (const item of applied as Array<Record<string, unknown>>) {
      const at = out.findIndex((c) => itemKey(c, keys) === itemKey(item, keys));
      if (at >= 0) out[at] = merge(out[at], item, names) as Record<string, unknown>;
      else out.push(structuredClone(item));
    }
    return out;
  }
  return structuredClone(applied);
}

/** fieldsV1 (nested keys, `.` for an item itself) ⇄ paths. */
function toFieldsV1(paths: Path[]): Record<string, unknown> {
  const root: Record<string, any> = {};
  for (const path of paths) {
    let here = root;
    for (const step of path) here = here[step] ??= {};
    if (path.at(-1)!.startsWith('k:')) here['.'] = {};
  }
  return root;
}

function fromFieldsV1(fields: Record<string, unknown>, at: Path = [], out: Path[] = []): Path[] {
  const children = Object.keys(fields).filter((k) => k !== '.');
  if ('.' in fields || (children.length === 0 && at.length > 0)) out.push(at);
  for (const key of children) fromFieldsV1(fields[key] as Record<string, unknown>, [...at, key], out);
  return out;
}

interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  fields: Map<string, Path>;
}

const sameOwner = (a: Pick<Owner, 'manager' | 'operation'>, b: Pick<Owner, 'manager' | 'operation'>) =>
  a.manager === b.manager && a.operation === b.operation;

function ownersOf(object: KubeObject | undefined): Owner[] {
  return ((object?.metadata as { managedFields?: ManagedFieldsEntry[] })?.managedFields ?? []).map((entry) => ({
    manager: entry.manager,
    operation: entry.operation,
    apiVersion: entry.apiVersion,
    time: entry.time,
    ...(entry.subresource !== undefined ? { subresource: entry.subresource } : {}),
    fields: new Map(fromFieldsV1(entry.fieldsV1 ?? {}).map((p) => [id(p), p])),
  }));
}

/** Owners as managedFields entries: those that own nothing any more are dropped, as the API server drops them. */
function entriesOf(owners: Owner[], before: Owner[]): ManagedFieldsEntry[] {
  return owners
    .filter((o) => o.fields.size > 0)
    .map((o) => {
      const fieldsV1 = toFieldsV1([...o.fields.values()]);
      const was = before.find((b) => sameOwner(b, o));
      // The time moves only when what it owns changes: a write that changes nothing changes nothing.
      const unchanged =
        was !== undefined && JSON.stringify(toFieldsV1([...was.fields.values()])) === JSON.stringify(fieldsV1);
      return {
        manager: o.manager,
        operation: o.operation,
        apiVersion: o.apiVersion,
        time: unchanged ? was.time : new Date().toISOString(),
        fieldsType: 'FieldsV1' as const,
        fieldsV1,
        ...(o.subresource !== undefined ? { subresource: o.subresource } : {}),
      };
    });
}

const copyOwners = (owners: Owner[]): Owner[] => owners.map((o) => ({ ...o, fields: new Map(o.fields) }));

function ownerFor(
  owners: Owner[],
  manager: string,
  operation: Owner['operation'],
  apiVersion: string,
  subresource?: string,
): Owner {
  let owner = owners.find((o) => sameOwner(o, { manager, operation }));
  if (owner === undefined) {
    owner = { manager, operation, apiVersion, time: '', fields: new Map(), ...(subresource ? { subresource } : {}) };
    owners.push(owner);
  }
  return owner;
}

/**
 * The managedFields after a write that is not an apply (create, replace, merge or strategic patch) by `manager`:
 * it owns every field it changed or added, which no other manager owns any more; fields it removed are nobody's.
 * `before` is the stored object (none for a create), `after` what the write makes of it, before defaulting.
 */
export function recordUpdate(
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  subresource?: string,
): ManagedFieldsEntry[] {
  const owners = ownersOf(before);
  const was = copyOwners(owners);
  const afterFields = new Map(fieldsOf(after).map((p) => [id(p), p]));
  const beforeFields = new Map(fieldsOf(before ?? {}).map((p) => [id(p), p]));
  const changed = [...afterFields].filter(
    ([key, path]) =>
      !beforeFields.has(key) || JSON.stringify(valueAt(before, path)) !== JSON.stringify(valueAt(after, path)),
  );
  const removed = [...beforeFields.keys()].filter((key) => !afterFields.has(key));
  for (const owner of owners) for (const key of [...changed.map(([k]) => k), ...removed]) owner.fields.delete(key);
  if (changed.length > 0) {
    const updater = ownerFor(owners, manager, 'Update', after.apiVersion, subresource);
    for (const [key, path] of changed) updater.fields.set(key, path);
  }
  return entriesOf(owners, was);
}

/**
 * A server-side apply of `applied` by `manager` to `current` (none: the apply creates it): the object it makes,
 * with its managedFields. A field another manager owns with another value is a conflict: 409 naming each field and
 * its manager, unless `force`, which takes the field from them.
 */
export function serverSideApply(
  current: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  force: boolean,
): KubeObject {
  const owners = ownersOf(current);
  const was = copyOwners(owners);
  const appliedFields = new Map(fieldsOf(applied).map((p) => [id(p), p]));
  const conflicts: Array<{ field: string; manager: string }> = [];
  for (const owner of owners) {
    if (sameOwner(owner, { manager, operation: 'Apply' })) continue;
    for (const [key, path] of appliedFields) {
      if (!owner.fields.has(key) || path.at(-1)!.startsWith('k:')) continue;
      if (JSON.stringify(valueAt(current, path)) === JSON.stringify(valueAt(applied, path))) continue;
      if (force) owner.fields.delete(key);
      else
        conflicts.push({
          field: `.${path.map((s) => (s.startsWith('f:') ? s.slice(2) : `[${s.slice(2)}]`)).join('.')}`,
          manager: owner.manager,
        });
    }
  }
  if (conflicts.length > 0)
    throw Object.assign(
      new HttpError(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map((c) => `conflict with "${c.manager}": ${c.field}`).join(', ')}`,
      ),
      {
        causes: conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}"`,
          field: c.field,
        })),
      },
    );
  const applier = ownerFor(owners, manager, 'Apply', applied.apiVersion);
  const previously = [...applier.fields];
  applier.fields = appliedFields;
  const next = merge(current ?? {}, applied) as KubeObject;
  // What this manager set before and sends no more goes, unless another manager set it too; deepest first.
  const dropped = previously
    .filter(([key]) => !appliedFields.has(key) && !owners.some((o) => o !== applier && o.fields.has(key)))
    .map(([, path]) => path)
    .sort((a, b) => b.length - a.length);
  // An item that goes takes its fields with it (its keys among them, which find it).
  const within = (inner: Path, outer: Path) => inner.length > outer.length && outer.every((s, i) => inner[i] === s);
  for (const path of dropped.filter((p) => !dropped.some((q) => within(p, q))))
    removeAt(next as unknown as Record<string, unknown>, path);
  (next.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields = entriesOf(owners, was);
  return next;
}

/**
 * Who manages a write: the `fieldManager` query parameter, else what the API server takes from the client's
 * User-Agent (its first word, `kubectl`).
 */
export function managerOf(fieldManager: string | null, userAgent: string | undefined): string {
  return fieldManager ?? userAgent?.split('/')[0] ?? 'unknown';
}
