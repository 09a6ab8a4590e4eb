// The key of a controller's rows in a shared PostgreSQL: where it deploys, never a guess two controllers share.
import { describe, expect, it } from 'vitest';
import { controllerTarget } from '../../../src/app/target.js';
import { apiServerOf } from '../../../src/drivers/kubernetes/api.js';

const kubeconfig = (server: string) => `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;

describe('controller target', () => {
  it('names the cluster by its API server, with the namespace and app', () => {
    const where = { driver: 'kubernetes' as const, namespace: 'moderation', app: 'guardgate' };
    expect(
      controllerTarget({ ...where, server: apiServerOf(kubeconfig('https://east.example:6443')) }, undefined),
    ).toBe('kubernetes:https://east.example:6443/moderation/guardgate');
    expect(
      controllerTarget({ ...where, server: apiServerOf(kubeconfig('https://west.example:6443')) }, undefined),
    ).not.toBe(controllerTarget({ ...where, server: apiServerOf(kubeconfig('https://east.example:6443')) }, undefined));
    expect(
      controllerTarget(
        { ...where, app: 'other', server: apiServerOf(kubeconfig('https://east.example:6443')) },
        undefined,
      ),
    ).toBe('kubernetes:https://east.example:6443/moderation/other');
  });

  it('names local deployments alike: a restart with a fresh data directory finds its state again', () => {
    expect(controllerTarget({ driver: 'local' }, undefined)).toBe('local');
  });

  it('GUARDGATE_TARGET names it instead', () => {
    expect(controllerTarget({ driver: 'local' }, 'eu-west/prod')).toBe('eu-west/prod');
  });
});
