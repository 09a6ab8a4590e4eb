// The messages between the router cluster's primary and its workers (IPC, structured clone).
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { AuthConfig } from '../config/auth.js';
import type { RouterState, RouterStatus } from './control.js';
import type { MirrorPair } from './mirror.js';
import type { RouterSettings } from './settings.js';

/** What a router worker is started with. */
export interface WorkerInit {
  index: number;
  settings: RouterSettings;
  auth: AuthConfig;
  adminToken: string;
  logLevel: string;
  state: RouterState;
  /** Forward mirror pairs from the start (the primary has listeners). */
  mirror: boolean;
}

/** A worker's metrics, as it sends them to the primary. */
export type WorkerMetrics = Array<MetricObjectWithValues<MetricValue<string>>>;

/** What the primary tells its workers. */
export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'state'; state: RouterState }
  | { type: 'status'; id: number }
  | { type: 'metrics'; id: number }
  | { type: 'mirror'; on: boolean }
  | { type: 'close' };

/** What a worker tells the primary. */
export type FromWorker =
  /** Loaded and listening for its init (a message sent before would be lost). */
  | { type: 'loaded' }
  | { type: 'ready'; url: string; previewUrl: string | null; epoch: number }
  | { type: 'failed'; message: string }
  | { type: 'applied'; epoch: number }
  | { type: 'apply-failed'; epoch: number; message: string }
  | { type: 'status'; id: number; status: RouterStatus }
  | { type: 'metrics'; id: number; metrics: WorkerMetrics }
  | { type: 'pair'; pair: MirrorPair };
