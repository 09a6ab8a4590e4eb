// Rotating the credentials the pods hold (the gate token's digest, the router secret) on purpose, with no
// failed request and no restart:
//   1. the new values are kept in the Secret `<app>-credentials` beside the old (a controller replaced from here
//      on goes on with them);
//   2. the Secret `<app>-env` lists both, new first: running pods read it from their mount when the kubelet
//      refreshes it, and accept either;
//   3. every ready pod is asked until it accepts the new gate token (the router secret comes in the same update of
//      the same Secret); a deadline names the pods that do not, and both values stay accepted;
//   4. the controller sends the new values from then on;
//   5. the new values replace the old in `<app>-credentials`, then in `<app>-env`: the old ones stop working.
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sha256Hex } from '../../auth/api-keys.js';
import type { InstanceInfo } from '../driver.js';
import { GuardgateError } from '../../vocabulary/errors.js';
import {
  freshCredentials,
  NEXT_KEYS,
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

/** What a rotation works with. */
export interface RotationParts {
  api: KubernetesObjectApi;
  namespace: string;
  app: string;
  /** Writes the pods' Secret `<app>-env` with these values over the rest. */
  writePodSecret(values: Record<string, string>): Promise<void>;
  /** The ready pods now, of every deployed color. */
  readyPods(): InstanceInfo[];
  /** Whether a pod accepts this gate token (its /whoami names the gate token), and what it answered. */
  accepts(url: string, gateToken: string): Promise<{ ok: boolean; answer: string }>;
  /** The controller sends these from now on. */
  use(values: Rotated): void;
  /** Why a rotation may not run now (a release is open or being started), if it may not; asked synchronously first. */
  blocked(): Promise<string | undefined>;
  /** How long the pods have to accept the new values, and how often they are asked. */
  deadlineMs: number;
  pollMs: number;
  log: Logger;
}

/** What a finished rotation reports. */
export interface RotationReport {
  rotated: Array<(typeof ROTATED)[number]>;
  /** The ready pods that accepted the new values before the old ones were dropped. */
  pods: string[];
  /** Whether it went on from a rotation a controller had begun and not finished. */
  resumed: boolean;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rotate the gate token and the router secret (see the top of this file). */
export async function rotateCredentials(parts: RotationParts): Promise<RotationReport> {
  const started = Date.now();
  const blocked = await parts.blocked();
  if (blocked !== undefined) throw new GuardgateError('release_in_progress', blocked);
  const { api, namespace, app, log } = parts;
  const kept = await readKeptCredentials(api, namespace, app);
  if (kept === undefined) throw new Error(`the Secret ${namespace}/${app}-credentials is gone: restart the controller`);
  const resumed = kept.next !== undefined;
  const next = kept.next ?? freshCredentials();
  if (!resumed)
    await patchKeptCredentials(
      api,
      namespace,
      app,
      Object.fromEntries(ROTATED.map((name, i) => [NEXT_KEYS[i]!, next[name]])),
    );
  await parts.writePodSecret(podCredentialEnv({ current: kept.current, next }));
  log.info({ resumed }, 'credential rotation: new values written beside the old; waiting for every ready pod');
  const pods = await untilAccepted(parts, next['gate-token']);
  parts.use(next);
  await patchKeptCredentials(api, namespace, app, next, NEXT_KEYS);
  await parts.writePodSecret(podCredentialEnv({ current: { ...kept.current, ...next } }));
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  log.info({ pods: pods.length, seconds }, 'credential rotation: done; the old values are refused from now on');
  return { rotated: [...ROTATED], pods, resumed, seconds };
}

/** Ask every ready pod until each accepts `token`; past the deadline, fail naming those that did not. */
async function untilAccepted(parts: RotationParts, token: string): Promise<string[]> {
  const deadline = Date.now() + parts.deadlineMs;
  const accepted = new Set<string>();
  let lagging: Array<{ pod: string; answer: string }> = [];
  for (;;) {
    const ready = parts.readyPods();
    const asked = await Promise.all(
      ready
        .filter((pod) => !accepted.has(pod.url))
        .map(async (pod) => ({ pod, ...(await parts.accepts(pod.url, token)) })),
    );
    for (const { pod, ok } of asked) if (ok) accepted.add(pod.url);
    lagging = asked.filter((a) => !a.ok).map((a) => ({ pod: a.pod.name ?? a.pod.url, answer: a.answer }));
    if (lagging.length === 0) return ready.map((pod) => pod.name ?? pod.url);
    if (Date.now() >= deadline) break;
    await sleep(parts.pollMs);
  }
  throw new GuardgateError(
    'propagation_timeout',
    `credential rotation: ${lagging.length} ready pod(s) did not accept the new gate token within ${Math.round(parts.deadlineMs / 1000)} s: ${lagging
      .map((l) => `${l.pod} (${l.answer})`)
      .join(
        ', ',
      )}. Old and new values stay accepted; rotate again once the kubelet has refreshed their Secret. Pods an earlier Guardgate started read them from their environment only: a release or \`kubectl rollout restart\` gives them the mount.`,
  );
}

/** One rotation at a time, and no release while it runs. */
export class CredentialRotator {
  private running = false;

  constructor(private readonly parts: RotationParts) {}

  /** Why a release may not start now: a rotation runs. */
  readonly releaseBlocked = (): string | undefined =>
    this.running ? 'the credentials are being rotated: start the release once the rotation has ended' : undefined;

  /** Rotate; `deadlineMs` in place of the configured one when given. */
  async rotate(deadlineMs?: number): Promise<RotationReport> {
    if (this.running) throw new GuardgateError('invalid_state', 'a credential rotation is already running');
    this.running = true;
    try {
      return await rotateCredentials(deadlineMs === undefined ? this.parts : { ...this.parts, deadlineMs });
    } finally {
      this.running = false;
    }
  }
}
