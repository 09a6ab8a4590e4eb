// The fake cluster's Gateway picks a rule as the Gateway API says a Gateway must (match precedence), not the first
// rule that matches: a route that works on the fake only because of its rules' order would misroute on a real one.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../fake-cluster/api-server.js';
import { routeRequest } from '../../fake-cluster/gateway-routing.js';

const route = (name: string, created: string, rules: unknown[], hostnames?: string[]): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { rules, ...(hostnames ? { hostnames } : {}) },
});
const to = (backend: string, matches?: unknown[]) => ({
  ...(matches ? { matches } : {}),
  backendRefs: [{ name: backend }],
});
const pick = (routes: KubeObject[], url: string, headers: Record<string, string> = {}, host = 'example.com') =>
  routeRequest(routes, url, { host, method: 'POST', headers })?.rule.backendRefs[0].name;

describe("the fake Gateway's rule precedence", () => {
  it('a header match beats a rule without matches, whatever their order', () => {
    const routes = [
      route('app', '2026-01-01', [to('live'), to('preview', [{ headers: [{ name: 'x-preview', value: 't' }] }])]),
    ];
    expect(pick(routes, '/predict', { 'x-preview': 't' })).toBe('preview');
    expect(pick(routes, '/predict', { 'x-preview': 'wrong' })).toBe('live');
  });

  it('an Exact path beats a prefix, a longer prefix a shorter; a prefix matches whole path elements', () => {
    const routes = [
      route('app', '2026-01-01', [
        to('root', [{ path: { type: 'PathPrefix', value: '/' } }]),
        to('v1', [{ path: { type: 'PathPrefix', value: '/v1' } }]),
        to('exact', [{ path: { type: 'Exact', value: '/v1/moderations' } }]),
      ]),
    ];
    expect(pick(routes, '/v1/moderations')).toBe('exact');
    expect(pick(routes, '/v1/other')).toBe('v1');
    expect(pick(routes, '/v1x')).toBe('root');
  });

  it('ties go to the oldest route; a route whose hostnames do not admit the host is skipped', () => {
    const older = route('zz-older', '2026-01-01', [to('older')]);
    const newer = route('aa-newer', '2026-02-01', [to('newer')]);
    expect(pick([newer, older], '/predict')).toBe('older');
    const elsewhere = route('elsewhere', '2025-01-01', [to('elsewhere')], ['other.example.org']);
    expect(pick([elsewhere, newer], '/predict', {}, 'example.com:8080')).toBe('newer');
    expect(pick([elsewhere], '/predict')).toBeUndefined();
  });
});
