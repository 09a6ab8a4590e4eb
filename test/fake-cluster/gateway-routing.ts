// Which HTTPRoute rule a Gateway sends a request to, as the Gateway API specifies it (HTTPRouteMatch precedence):
// of every match of every rule of the routes attached (their hostnames admitting the request's host), the most
// specific wins: an Exact path, then the longest PathPrefix, then a method match, then the most header matches,
// then the most query parameter matches; ties go to the oldest route, then by namespace/name, then to the first
// rule in its route's order. A rule without matches matches every path (PathPrefix "/").
import type { KubeObject } from './api-server.js';

interface Match {
  path?: { type?: 'Exact' | 'PathPrefix' | 'RegularExpression'; value?: string };
  method?: string;
  headers?: Array<{ type?: string; name: string; value: string }>;
  queryParams?: Array<{ type?: string; name: string; value: string }>;
}

/** What a request offers to matching. */
export interface RoutedRequest {
  host: string;
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

const pathMatches = (path: string, match: Match['path']): boolean => {
  const type = match?.type ?? 'PathPrefix';
  const value = match?.value ?? '/';
  if (type === 'Exact') return path === value;
  if (type === 'RegularExpression') return new RegExp(`^${value}$`).test(path);
  // PathPrefix matches whole path elements: /foo matches /foo and /foo/bar, not /foobar.
  const prefix = value.endsWith('/') && value !== '/' ? value.slice(0, -1) : value;
  return prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
};

const hostAdmitted = (hostnames: string[] | undefined, host: string): boolean =>
  hostnames === undefined ||
  hostnames.length === 0 ||
  hostnames.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : h === host));

function matches(request: RoutedRequest, query: URLSearchParams, match: Match): boolean {
  if (!pathMatches(request.path, match.path)) return false;
  if (match.method !== undefined && match.method !== request.method) return false;
  for (const h of match.headers ?? []) if (request.headers[h.name.toLowerCase()] !== h.value) return false;
  for (const q of match.queryParams ?? []) if (query.get(q.name) !== q.value) return false;
  return true;
}

/** Ranks a match: higher is more specific. */
const rank = (match: Match): number[] => [
  match.path?.type === 'Exact' ? 1 : 0,
  match.path?.type === 'Exact' ? 0 : (match.path?.value ?? '/').length,
  match.method === undefined ? 0 : 1,
  match.headers?.length ?? 0,
  match.queryParams?.length ?? 0,
];

/** Whether rank `a` is strictly above `b`, compared in order of precedence. */
const moreSpecific = (a: number[], b: number[]): boolean => {
  const i = a.findIndex((v, j) => v !== b[j]);
  return i >= 0 && a[i]! > b[i]!;
};

/** The rule (and its route) a request goes to, or undefined when no route's rule matches it. Pure. */
export function routeRequest(routes: readonly KubeObject[], url: string, request: Omit<RoutedRequest, 'path'>) {
  const parsed = new URL(url, 'http://gateway');
  const routed: RoutedRequest = { ...request, path: parsed.pathname };
  const host = request.host.replace(/:\d+$/, '');
  const ordered = [...routes].sort(
    (a, b) =>
      String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) ||
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  let best: { route: KubeObject; rule: any; rank: number[] } | undefined;
  for (const route of ordered) {
    if (!hostAdmitted(route.spec.hostnames, host)) continue;
    for (const rule of route.spec.rules ?? []) {
      for (const match of (rule.matches as Match[] | undefined) ?? [{}]) {
        if (!matches(routed, parsed.searchParams, match)) continue;
        const r = rank(match);
        // Strictly more specific only: an equal one earlier (older route, earlier rule) keeps precedence.
        if (best === undefined || moreSpecific(r, best.rank)) best = { route, rule, rank: r };
      }
    }
  }
  return best === undefined ? undefined : { route: best.route, rule: best.rule };
}
