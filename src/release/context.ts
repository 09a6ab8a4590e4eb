// What every part of the release controller works with: its store, driver, traffic, log and options, and
// the environments' shared hands (deploy, route, retire).
import type { Logger } from 'pino';
import type { Driver, EnvironmentSpec } from '../drivers/driver.js';
import type { AuditStore } from '../store/audit/store.js';
import type { TextMode } from '../store/audit/record.js';
import type { SecretPolicy } from '../config/secret.js';
import type { Environments } from './environments.js';
import type { StoreHealth } from './store-resilient.js';
import type { ControllerStore } from './store.js';
import type { Traffic } from './traffic.js';

/** What the controller is given besides its store, driver and traffic. */
export interface ControllerOptions {
  /** The environment `up` starts with when nothing was ever deployed. */
  initial: EnvironmentSpec;
  /**
   * The bearer the gates send (the gate token, never the admin token): preview through the router, load straight
   * at instances. Read when a gate starts: a credential rotation changes it between releases.
   */
  credentials?: (() => string) | undefined;
  /** Why a release may not start now (a credential rotation runs), if it may not; asked as a release starts. */
  releaseBlocked?: (() => string | undefined) | undefined;
  /** Certificates the gates trust besides the system's (the private CA of the public listener). */
  gateTrust?: (() => string[]) | undefined;
  /** What of users' text gate evidence may keep: the audit log's policy (none: digests only). */
  auditText?: TextMode;
  /** The audit log, read for the shadow gate's replay of the last audited texts. */
  audit?: Pick<AuditStore, 'query'>;
  /** The secrets a release spec may name; none when not given. */
  releaseSecrets?: SecretPolicy;
  /** Whether the store answers (a ResilientStore): status answers from memory while it does not. */
  storeHealth?: StoreHealth & { probe(): void; stop(): void };
}

/** The controller's parts share these. */
export interface ReleaseContext {
  readonly store: ControllerStore;
  readonly driver: Driver;
  readonly traffic: Traffic;
  readonly log: Logger;
  readonly options: ControllerOptions;
  readonly environments: Environments;
}
