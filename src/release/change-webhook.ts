// The change record, pushed: every release transition (and every operator switch) posted to a webhook (a
// CMDB, a change-management system, a chat bridge), signed with HMAC-SHA256, retried with backoff, in order,
// and never in the way of a release: posting happens after the transition is stored, from a bounded queue,
// and a receiver that is down or slow only delays the records behind it. The store keeps the durable history;
// records still queued when the controller stops are logged as not delivered.
import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { CONTROLLER, type CredentialRotationDetail, type Release } from './store.js';
import type { StoreListener } from './store-listeners.js';
import type { ReleaseState } from './states.js';

/** The HMAC-SHA256 of a change record, keyed with the webhook secret. */
export const SIGNATURE_HEADER = 'x-guardgate-signature';
/** When the record was signed (part of what is signed). */
export const TIMESTAMP_HEADER = 'x-guardgate-timestamp';
/** The record's id: a receiver that sees it twice drops the second. */
export const DELIVERY_HEADER = 'x-guardgate-delivery';

/** One change posted to the webhook: a release transition or an operator action (a switch, a credential rotation). */
export interface ChangeRecord {
  /** Unique per record; the same on every attempt (receivers deduplicate on it). */
  id: string;
  type: 'release.created' | 'release.transition' | 'operator.switch' | 'operator.credential_rotation';
  at: string;
  actor: string;
  release?: {
    id: number;
    version: string;
    state: ReleaseState;
    from: ReleaseState | null;
    candidate: string;
    previous: string;
    forced: boolean;
    note: string | null;
  };
  /** A gate's report, when the transition carries one. */
  evidence?: unknown;
  switch?: { from: string; to: string; forced: boolean };
  /** A credential rotation: how it ended (never a credential's value). */
  rotation?: CredentialRotationDetail;
}

/** Where change records go and how they are retried. */
export interface WebhookSettings {
  url: string;
  secret: string;
  /** Each attempt's deadline. */
  timeoutMs: number;
  /** Attempts per record before it is given up (logged and counted). */
  attempts: number;
  /** Records waiting at most; beyond, new ones are dropped (logged and counted). */
  maxQueued: number;
  /** The first retry's wait; doubled each time up to 60 s. */
  backoffMs: number;
}

/** The signature of a body sent at `timestamp` (seconds): hex HMAC-SHA256 of `${timestamp}.${body}`. Pure. */
export const signature = (secret: string, timestamp: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/** Posts change records, signed, retried with backoff from a bounded queue; never holds up a release. */
export class ChangeWebhook {
  private readonly queue: ChangeRecord[] = [];
  private sending: Promise<void> | undefined;
  private stopped = false;
  /** Aborts an attempt or a backoff in progress when the webhook closes. */
  private readonly closing = new AbortController();
  private readonly deliveries: Counter<'outcome'>;

  constructor(
    private readonly settings: WebhookSettings,
    private readonly log: Logger,
    registry?: Registry,
  ) {
    this.deliveries = new Counter({
      name: 'guardgate_change_webhook_deliveries_total',
      help: 'Change records posted to the webhook: delivered, retried (an attempt failed), failed (given up), dropped (queue full)',
      labelNames: ['outcome'] as const,
      registers: registry === undefined ? [] : [registry],
    });
  }

  /** Queue a record; returns at once. */
  post(record: Omit<ChangeRecord, 'id' | 'at'> & { at?: string }): void {
    if (this.stopped) return;
    if (this.queue.length >= this.settings.maxQueued) {
      this.deliveries.inc({ outcome: 'dropped' });
      this.log.error(
        { type: record.type, version: record.release?.version },
        'change webhook: queue full, record dropped',
      );
      return;
    }
    this.queue.push({ id: randomUUID(), at: new Date().toISOString(), ...record });
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  /** Resolves when every queued record has been delivered or given up (tests; shutdown waits a little). */
  async idle(): Promise<void> {
    while (this.sending !== undefined) await this.sending;
  }

  /** Stop: what is still queued after `graceMs` is logged as not delivered. */
  async close(graceMs = 5_000): Promise<void> {
    await Promise.race([this.idle(), delay(graceMs)]);
    this.stopped = true;
    this.closing.abort();
    await this.idle();
    if (this.queue.length > 0)
      this.log.error(
        { records: this.queue.length },
        'change webhook: records not delivered at shutdown (the release history keeps them)',
      );
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      await this.deliver(this.queue[0]!);
      this.queue.shift();
    }
  }

  private async deliver(record: ChangeRecord): Promise<void> {
    const body = JSON.stringify(record);
    for (let attempt = 1; ; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      let failure: string;
      try {
        const response = await fetch(this.settings.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [SIGNATURE_HEADER]: signature(this.settings.secret, timestamp, body),
            [TIMESTAMP_HEADER]: timestamp,
            [DELIVERY_HEADER]: record.id,
            'x-guardgate-attempt': String(attempt),
          },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.settings.timeoutMs), this.closing.signal]),
          redirect: 'error',
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          this.deliveries.inc({ outcome: 'delivered' });
          return;
        }
        failure = `HTTP ${response.status}`;
      } catch (error) {
        failure = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
      }
      if (attempt >= this.settings.attempts || this.stopped) {
        this.deliveries.inc({ outcome: 'failed' });
        this.log.error(
          { delivery: record.id, type: record.type, attempts: attempt, failure },
          'change webhook: record not delivered',
        );
        return;
      }
      this.deliveries.inc({ outcome: 'retried' });
      this.log.warn({ delivery: record.id, attempt, failure }, 'change webhook: attempt failed; retrying');
      await delay(Math.min(this.settings.backoffMs * 2 ** (attempt - 1), 60_000), undefined, {
        signal: this.closing.signal,
      }).catch(() => undefined);
    }
  }
}

/** The record of a release as it now is. Pure. */
export function releaseRecord(
  release: Release,
  from: ReleaseState | null,
  type: 'release.created' | 'release.transition',
  actor: string,
  evidence: unknown,
): Omit<ChangeRecord, 'id' | 'at'> {
  return {
    type,
    actor,
    release: {
      id: release.id,
      version: release.version,
      state: release.state,
      from,
      candidate: release.candidate,
      previous: release.previous,
      forced: release.forced,
      note: release.note,
    },
    ...(evidence === undefined ? {} : { evidence: withoutUserText(evidence) }),
  };
}

/**
 * Evidence as it may leave the deployment: users' text (shadow examples keep it when the audit policy does)
 * replaced by null; digests, figures and the suite's own cases stay. Pure.
 */
export function withoutUserText(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUserText);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      (key === 'prompt' || key === 'response') && typeof item === 'string' ? null : withoutUserText(item),
    ]),
  );
}

/** The webhook as a store listener: a record per release opened, transition and operator action. */
export function webhookListener(webhook: ChangeWebhook): StoreListener {
  return {
    created: (release, actor) => webhook.post(releaseRecord(release, null, 'release.created', actor, undefined)),
    transitioned: (release, from, options) =>
      webhook.post(releaseRecord(release, from, 'release.transition', options?.actor ?? CONTROLLER, options?.evidence)),
    acted: (action) =>
      webhook.post(
        action.action === 'switch'
          ? { type: 'operator.switch', actor: action.actor, switch: action.detail }
          : { type: 'operator.credential_rotation', actor: action.actor, rotation: action.detail },
      ),
  };
}
