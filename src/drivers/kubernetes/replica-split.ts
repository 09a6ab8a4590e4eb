// A canary by replica ratio, for the Service selector mode: the Service `<app>` selects both colors' pods and
// kube-proxy spreads new connections over them, so the candidate's share is its pods over all pods. The live
// color keeps every pod it has (never shrunk for a canary); the candidate gets the pods that come nearest the
// weight. That is coarse: with 4 stable pods the shares are 20, 33, 43, 50 %…, and a share is per connection,
// not per request (a kept-alive client stays where it landed). A weight no pod count comes near is refused.

/** A share may miss its weight by this many points at most. */
export const SPLIT_TOLERANCE_POINTS = 5;

/** The candidate's pods for a weight, and the share they make. */
export interface ReplicaSplit {
  replicas: number;
  /** Percent of new connections the candidate's pods take. */
  share: number;
}

/** The candidate pod count (1 to `maxCandidate`) whose share is nearest `weight` percent, beside `stable` pods. Pure. */
export function nearestSplit(weight: number, stable: number, maxCandidate: number): ReplicaSplit {
  let best: ReplicaSplit = { replicas: 1, share: 100 / (stable + 1) };
  for (let replicas = 2; replicas <= maxCandidate; replicas++) {
    const share = (100 * replicas) / (stable + replicas);
    if (Math.abs(share - weight) < Math.abs(best.share - weight)) best = { replicas, share };
  }
  return best;
}

/** Why replica ratios cannot make these weights (none at 100: the candidate alone is selected), or undefined. Pure. */
export function cannotSplitByReplicas(
  weights: readonly number[],
  stable: number,
  maxCandidate: number,
): string | undefined {
  const missed = weights
    .filter((w) => w < 100)
    .map((weight) => ({ weight, split: nearestSplit(weight, stable, maxCandidate) }))
    .filter(({ weight, split }) => Math.abs(split.share - weight) > SPLIT_TOLERANCE_POINTS);
  if (missed.length === 0) return undefined;
  const shares = Array.from({ length: maxCandidate }, (_, i) => `${Math.round((100 * (i + 1)) / (stable + i + 1))}%`);
  return (
    `traffic service-selector splits by pods: beside ${stable} stable pod(s), up to ${maxCandidate} candidate pod(s) make ` +
    `${shares.join(', ')} of new connections; ` +
    missed.map(({ weight, split }) => `weight ${weight} is ${Math.round(split.share)}% at best`).join(', ') +
    ` (more than ${SPLIT_TOLERANCE_POINTS} points off). Use weights near those shares, more replicas, or traffic router or gateway-api`
  );
}
