// The router's Prometheus metrics.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.js';

/** The router's Prometheus metrics. */
export class RouterMetrics {
  readonly registry = new Registry();
  /** Per request: counted on the hot path without prom-client's label hashing (hot-metrics.ts). */
  readonly requests = new HotCounter(
    'guardgate_router_requests_total',
    'Requests answered by the router, by the color that served them, why, and status code',
    ['color', 'reason', 'status_code'],
    this.registry,
  );
  readonly upstreamDuration = new HotHistogram(
    'guardgate_router_upstream_duration_seconds',
    'Time from sending a request upstream to its last response byte',
    'color',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    this.registry,
  );
  readonly retries = new Counter({
    name: 'guardgate_router_retries_total',
    help: 'Requests retried on another instance after a connection failure, and retries refused by the budget',
    labelNames: ['color', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly ejections = new Counter({
    name: 'guardgate_router_ejections_total',
    help: 'Instances taken out of rotation, by color and cause (check or connection error)',
    labelNames: ['color', 'cause'] as const,
    registers: [this.registry],
  });
  readonly healthy = new Gauge({
    name: 'guardgate_router_healthy_instances',
    help: 'Instances in rotation, by color',
    labelNames: ['color'] as const,
    // Across router workers: each checks on its own; the best view counts.
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly switches = new Counter({
    name: 'guardgate_router_switches_total',
    help: 'Switches of the active color',
    labelNames: ['to'] as const,
    aggregator: 'max', // every router worker applies every switch
    registers: [this.registry],
  });
  readonly active = new Gauge({
    name: 'guardgate_router_active_color',
    help: '1 for the active color, 0 for the standby',
    labelNames: ['color'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly mirror = new Counter({
    name: 'guardgate_router_mirror_total',
    help: 'Mirrored requests: sent to the standby, dropped (queue full or no healthy standby), failed',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly failovers = new Counter({
    name: 'guardgate_router_failover_requests_total',
    help: 'Live requests served by the standby because the active color had no healthy instance (failover: standby)',
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: 'guardgate_router_client_connections',
    help: 'Client connections open on the public and preview listeners',
    registers: [this.registry],
  });
  readonly droppedConnections = new Counter({
    name: 'guardgate_router_dropped_connections_total',
    help: 'Client connections closed at once because the listener held maxConnections, or their address its share (maxConnectionsPerClient)',
    registers: [this.registry],
  });

  countRequest(color: string, reason: string, status: number | string): void {
    this.requests.inc(color, reason, status);
  }

  observeUpstream(color: string, seconds: number): void {
    this.upstreamDuration.observe(color, seconds);
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'guardgate_router_' });
  }
}
