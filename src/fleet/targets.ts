// A fleet's targets as the fleet drives them: each a running `guardgate up`, through its admin API.
import { readFileSync } from 'node:fs';
import { adminClient } from '../cli/client.js';
import { inlineSuites, type ReleaseSpec } from '../release/spec.js';
import type { ControllerStatus, ReleaseView } from '../release/views.js';
import type { FleetTarget } from './run.js';
import type { Fleet } from './spec.js';

/** Every target of the fleet file, with its admin token read now (a missing file or variable is an error here). */
export function fleetTargets(fleet: Fleet, env: NodeJS.ProcessEnv): Map<string, FleetTarget> {
  return new Map(
    Object.entries(fleet.targets).map(([name, target]) => {
      const token =
        target.tokenFile !== undefined ? readFileSync(target.tokenFile, 'utf8').trim() : env[target.tokenEnv!];
      if (!token) throw new Error(`target ${name}: its admin token (${target.tokenFile ?? target.tokenEnv}) is empty`);
      const client = adminClient({ dataDir: '.', adminUrl: target.adminUrl, token });
      const fleetTarget: FleetTarget = {
        name,
        release: async (spec: ReleaseSpec) =>
          (await client.call<ReleaseView>('POST', '/admin/releases', inlineSuites(spec))).id,
        latest: async () => (await client.call<ControllerStatus>('GET', '/admin/controller')).release,
        rollback: async () => void (await client.call('POST', '/admin/rollback')),
        abort: async () => void (await client.call('POST', '/admin/abort')),
      };
      return [name, fleetTarget];
    }),
  );
}
