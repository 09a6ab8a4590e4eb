// Rotating the credentials the pods hold (the gate token's digest, the router secret) on purpose, with no
// failed request and no restart:
//   1. the new values are kept in the Secret `<app>-credentials` beside the old (a controller replaced from here
//      on goes on with them);
//   2. the Secret `<app>-env` lists both, new first: running pods read it from their mount when the kubelet
//      refreshes it, and accept either;
//   3. every pod is asked until it accepts the new gate token (the router secret comes in the same update of the
//      same Secret); a deadline names the pods that do not, and both values stay accepted. A pod that is not ready
//      and does not answer (starting, crash-looping) cannot be asked: its kubelet is given a sync period to
//      refresh its mount before the old values go, and the report names it as unverified. With no ready pod at
//      all nothing could confirm anything: the rotation is refused before it begins;
//   4. the controller sends the new values from then on;
//   5. the new values replace the old in `<app>-credentials`, then in `<app>-env`: the old ones stop working.
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sha256Hex } from '../../auth/api-keys.js';
import type { InstanceInfo } from '../driver.js';
import type { Color } from '../../vocabulary/colors.js';
import { GuardgateError } from '../../vocabulary/errors.js';
import {
  freshCredentials,
  NEXT_KEYS,
  nextEntries,
  patchKeptCredentials,
  readKeptCredentials,
  ROTATED,
  type KeptCredentials,
  type Rotated,
} from './credentials.js';
import { GATE_DIGEST_ENV, ROUTER_SECRET_ENV } from './pod-config.js';

/** What the pods' Secret says of the rotated credentials: the new values first during a rotation, one a line. */
export function podCredentialEnv(kept: KeptCredentials): Record<string, string> {
  const values = (name: (typeof ROTATED)[number]) => [
    ...(kept.next === undefined ? [] : [kept.next[name]]),
    kept.current[name],
  ];
  return {
    [GATE_DIGEST_ENV]: values('gate-token').map(sha256Hex).join('\n'),
    [ROUTER_SECRET_ENV]: values('router-secret').join('\n'),
  };
}

/** What a pod answered when asked whether it accepts a gate token. */
export interface PodAnswer {
  ok: boolean;
  /** What it said, for the operator: "accepted", "not known there", "HTTP 503", a socket error. */
  answer: string;
  /** Whether it answered at all (an HTTP answer): a pod that does not listen cannot be asked. */
  reached: boolean;
}

/** The pods a rotation asks: every pod of each deployed color, ready or not (not the gone ones). */
export interface PodsNow {
  colors: Color[];
  pods: InstanceInfo[];
}

/** A finished or failed rotation, for the action history. */
export interface RotationRecord {
  actor: string;
  outcome: 'done' | 'failed';
  report?: RotationReport;
  reason?: string;
}

/** What a rotation works with. */
export interface RotationParts {
  api: KubernetesObjectApi;
  namespace: string;
  app: string;
  /** Writes the pods' Secret `<app>-env` with these values over the rest. */
  writePodSecret(values: Record<string, string>): Promise<void>;
  /** The pods now, of every deployed color. */
  pods(): PodsNow;
  /** Whether a pod accepts this gate token (its /whoami names the gate token), and what it answered. */
  accepts(url: string, gateToken: string): Promise<PodAnswer>;
  /** The controller sends these from now on. */
  use(values: Rotated): void;
  /** Why a rotation may not run now (a release is open or being started), if it may not; asked synchronously first. */
  blocked(): Promise<string | undefined>;
  /** Writes a rotation into the action history (beside the manual switches). */
  record(record: RotationRecord): Promise<void>;
  /** How long the pods have to accept the new values, and how often they are asked. */
  deadlineMs: number;
  pollMs: number;
  /** How long a pod that cannot be asked is given for its kubelet to refresh its Secret (within the deadline). */
  kubeletSyncMs: number;
  log: Logger;
}

/** What a finished rotation reports. */
export interface RotationReport {
  rotated: Array<(typeof ROTATED)[number]>;
  /** The pods that accepted the new values before the old ones were dropped. */
  pods: string[];
  /** Pods that could not be asked (not ready, not answering): given a kubelet sync period, not confirmed. */
  unverified: string[];
  /** Whether it went on from a rotation a controller had begun and not finished. */
  resumed: boolean;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const podName = (pod: InstanceInfo): string => pod.name ?? pod.url;

/** Rotate the gate token and the router secret (see the top of this file); `pending` hears when both are accepted. */
export async function rotateCredentials(
  parts: RotationParts,
  pending: (since: string | undefined) => void = () => undefined,
): Promise<RotationReport> {
  const started = Date.now();
  const blocked = await parts.blocked();
  if (blocked !== undefined) throw new GuardgateError('release_in_progress', blocked);
  const { colors, pods } = parts.pods();
  if (colors.length > 0 && !pods.some((pod) => pod.state === 'ready'))
    throw new GuardgateError(
      'invalid_state',
      `no pod of ${colors.join(' or ')} is ready: none could confirm that the pods took the new values; rotate once they are ready`,
    );
  const { api, namespace, app, log } = parts;
  const kept = await readKeptCredentials(api, namespace, app);
  if (kept === undefined) throw new Error(`the Secret ${namespace}/${app}-credentials is gone: restart the controller`);
  const resumed = kept.next !== undefined;
  const next = kept.next ?? freshCredentials();
  const since = kept.nextSince ?? new Date(started).toISOString();
  if (!resumed) await patchKeptCredentials(api, namespace, app, nextEntries(next, since));
  pending(since);
  await parts.writePodSecret(podCredentialEnv({ current: kept.current, next }));
  log.info({ resumed }, 'credential rotation: new values written beside the old; waiting for every pod');
  const asked = await untilAccepted(parts, next['gate-token']);
  if (asked.unverified.length > 0)
    log.warn(
      { unverified: asked.unverified },
      'credential rotation: pods that could not be asked were given a kubelet sync period; the old values go now',
    );
  parts.use(next);
  await patchKeptCredentials(api, namespace, app, next, NEXT_KEYS);
  await parts.writePodSecret(podCredentialEnv({ current: { ...kept.current, ...next } }));
  pending(undefined);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  log.info({ pods: asked.pods.length, seconds }, 'credential rotation: done; the old values are refused from now on');
  return { rotated: [...ROTATED], ...asked, resumed, seconds };
}

/**
 * Ask every pod until each accepts `token`; past the deadline, fail naming those that did not. A pod that is not
 * ready and does not answer cannot be asked: it is waited for a kubelet sync period (within the deadline), then
 * named as unverified.
 */
async function untilAccepted(parts: RotationParts, token: string): Promise<{ pods: string[]; unverified: string[] }> {
  const begun = Date.now();
  const deadline = begun + parts.deadlineMs;
  const syncedBy = Math.min(deadline, begun + parts.kubeletSyncMs);
  const accepted = new Set<string>();
  let lagging: Array<{ pod: string; answer: string }> = [];
  for (;;) {
    const pods = parts.pods().pods;
    const asked = await Promise.all(
      pods
        .filter((pod) => !accepted.has(pod.url))
        .map(async (pod) => ({ pod, ...(await parts.accepts(pod.url, token)) })),
    );
    for (const { pod, ok } of asked) if (ok) accepted.add(pod.url);
    const refused = asked.filter((a) => !a.ok);
    // A ready pod must answer; one that is not ready must, once it answers.
    lagging = refused
      .filter((a) => a.pod.state === 'ready' || a.reached)
      .map((a) => ({ pod: podName(a.pod), answer: a.answer }));
    const unverified = refused.filter((a) => a.pod.state !== 'ready' && !a.reached).map((a) => podName(a.pod));
    const now = Date.now();
    if (lagging.length === 0 && (unverified.length === 0 || now >= syncedBy))
      return { pods: pods.filter((pod) => accepted.has(pod.url)).map(podName), unverified };
    if (now >= deadline) break;
    await sleep(parts.pollMs);
  }
  throw new GuardgateError(
    'propagation_timeout',
    `credential rotation: ${lagging.length} pod(s) did not accept the new gate token within ${Math.round(parts.deadlineMs / 1000)} s: ${lagging
      .map((l) => `${l.pod} (${l.answer})`)
      .join(
        ', ',
      )}. Old and new values stay accepted; rotate again once the kubelet has refreshed their Secret. Pods an earlier Guardgate started read them from their environment only: a release or \`kubectl rollout restart\` gives them the mount.`,
  );
}

/** One rotation at a time, no release while it runs, each recorded; says whether one is under way. */
export class CredentialRotator {
  private running = false;
  /** When the rotation under way began (both values accepted since), if one is. */
  pendingSince: string | undefined;

  constructor(
    private readonly parts: RotationParts,
    pendingSince?: string,
  ) {
    this.pendingSince = pendingSince;
  }

  /** Why a release may not start now: a rotation runs. */
  readonly releaseBlocked = (): string | undefined =>
    this.running ? 'the credentials are being rotated: start the release once the rotation has ended' : undefined;

  /** Rotate for `actor`; `deadlineMs` in place of the configured one when given. */
  async rotate(actor: string, deadlineMs?: number): Promise<RotationReport> {
    if (this.running) throw new GuardgateError('invalid_state', 'a credential rotation is already running');
    this.running = true;
    try {
      const report = await rotateCredentials(
        deadlineMs === undefined ? this.parts : { ...this.parts, deadlineMs },
        (since) => (this.pendingSince = since),
      );
      await this.remember({ actor, outcome: 'done', report });
      return report;
    } catch (error) {
      await this.remember({ actor, outcome: 'failed', reason: (error as Error).message });
      throw error;
    } finally {
      this.running = false;
    }
  }

  /** Into the history; a store that does not answer loses the line, never the rotation's outcome. */
  private async remember(record: RotationRecord): Promise<void> {
    await this.parts
      .record(record)
      .catch((error: Error) => this.parts.log.warn({ err: error }, 'credential rotation: not recorded in the history'));
  }
}
