// Where the watch gate reads the candidate's live figures: Prometheus when the spec names one, else the
// router's own metrics, else the instances' metrics (Kubernetes without a router).
import { prometheusProbe } from '../gates/prometheus.js';
import { instancesProbe } from '../gates/instances-probe.js';
import { routerProbe, type WatchProbe } from '../gates/watch.js';
import type { ReleaseContext } from './context.js';
import type { Release } from './store.js';

/** The probe the watch gate of `release` reads. */
export async function watchProbe(ctx: ReleaseContext, release: Release): Promise<WatchProbe> {
  const { prometheus } = release.spec.gates.watch;
  if (prometheus !== undefined) return prometheusProbe(prometheus.url, release.candidate);
  if (ctx.traffic.metrics !== undefined) return routerProbe(ctx.traffic.metrics, release.candidate);
  return instancesProbe(
    () => (ctx.driver.describe(release.candidate)?.instances ?? []).map((i) => i.url),
    ctx.options.credentials?.(),
  );
}
