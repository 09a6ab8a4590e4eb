// Where a canary's steps get their figures, by what moves the traffic: the router counts both sides' live requests
// and mirrors them to each other; without a router in the path (a Kubernetes Service or Gateway), the counts are
// read from each color's instances and the verdicts compared on live texts replayed to both.
import { readyInstanceUrl } from '../drivers/driver.js';
import { routerCanaryReader, type CanarySnapshot, type CanarySource } from '../gates/canary.js';
import { instancesReader } from '../gates/instances-probe.js';
import { replayMirror } from '../gates/replay-mirror.js';
import { replayCorpus } from '../gates/run.js';
import { EVIDENCE_HEADER } from '../shared/headers.js';
import type { ReleaseContext } from './context.js';
import type { Release } from './store.js';

/** The canary source of `release` over the context's traffic; undefined where the traffic cannot split. */
export function canarySource(ctx: ReleaseContext, release: Release): CanarySource | undefined {
  const { traffic, driver, options, log } = ctx;
  const { spec, candidate, previous: stable } = release;
  const colors = { stable, candidate };
  const { weights } = traffic;
  if (weights === undefined) return undefined;
  const setWeight = (weight: number) =>
    weights.setWeights(weight, { stickyHeader: spec.canary.stickyHeader ?? null, candidateReplicas: spec.replicas });
  if (traffic.metrics !== undefined && traffic.mirror !== undefined)
    return {
      setWeight,
      read: routerCanaryReader(traffic.metrics, colors),
      mirror: traffic.mirror,
      comparedOn: 'mirrored live requests',
    };
  const urls = (color: typeof stable) => () =>
    (driver.describe(color)?.instances ?? []).filter((i) => i.state === 'ready').map((i) => i.url);
  const stableCounts = instancesReader(urls(stable), options.credentials?.());
  const candidateCounts = instancesReader(urls(candidate), options.credentials?.());
  const keepsText = options.audit !== undefined && options.auditText !== undefined && options.auditText !== 'none';
  const mirror = replayMirror({
    audit: keepsText ? options.audit : undefined,
    corpus: replayCorpus(spec.gates.shadow.replay === false ? undefined : spec.gates.shadow.replay.corpus),
    instanceUrl: (color) => readyInstanceUrl(driver.describe(color)),
    colors,
    headers:
      options.credentials === undefined
        ? {}
        : { authorization: `Bearer ${options.credentials()}`, [EVIDENCE_HEADER]: '1' },
    log,
  });
  return {
    setWeight,
    read: async (): Promise<CanarySnapshot> => {
      const [s, c] = await Promise.all([stableCounts(), candidateCounts()]);
      return { stable: s, candidate: c, stableBuckets: s.buckets, candidateBuckets: c.buckets };
    },
    mirror,
    comparedOn: mirror.comparesLiveTexts ? 'live texts replayed to both sides' : 'corpus replayed to both sides',
  };
}
