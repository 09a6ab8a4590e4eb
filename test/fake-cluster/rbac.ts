// Which of the API requests a fake cluster recorded a Role does not allow: least privilege, checked on what
// the controller really did.
import type { ApiServer } from './api-server.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  /** When given, the rule allows requests naming one of these objects only (never create, list or watch). */
  resourceNames?: string[];
  verbs: string[];
}

/** The verb, API group and resource of a recorded request; undefined for discovery (allowed to everyone). */
export function accessOf(
  method: string,
  path: string,
): { verb: string; group: string; resource: string; name: string | undefined } | undefined {
  const url = new URL(path, 'http://fake');
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/[^/]+)?\/([^/]+)(\/[^/]+)?(\/[^/]+)?$/.exec(
    url.pathname,
  );
  if (m === null) return undefined;
  const [, group = '', plural, name, sub] = m;
  const resource = sub ? `${plural}${sub}` : plural!;
  const verb =
    method === 'GET'
      ? name === undefined
        ? url.searchParams.get('watch') === 'true'
          ? 'watch'
          : 'list'
        : 'get'
      : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method]!;
  return { verb, group, resource, name: method === 'POST' ? undefined : name?.slice(1) };
}

export function outsideRole(requests: ApiServer['requests'], rules: PolicyRule[]): string[] {
  const denied = new Set<string>();
  for (const { method, path, status } of requests) {
    const access = accessOf(method, path);
    if (access === undefined) continue;
    // An apply that creates its object is authorised as a patch of that name and as a create, as the API server does.
    const accesses =
      access.verb === 'patch' && status === 201 ? [access, { ...access, verb: 'create', name: undefined }] : [access];
    for (const a of accesses) {
      const allowed = rules.some(
        (r) =>
          r.apiGroups.includes(a.group) &&
          r.resources.includes(a.resource) &&
          r.verbs.includes(a.verb) &&
          (r.resourceNames === undefined || (a.name !== undefined && r.resourceNames.includes(a.name))),
      );
      if (!allowed) denied.add(`${a.verb} ${a.group || 'core'}/${a.resource}${a.name ? ` ${a.name}` : ''}`);
    }
  }
  return [...denied].sort();
}
