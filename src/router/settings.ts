// The router's settings, as the configuration layer hands them over.
import type { Color } from '../vocabulary/colors.js';

/** One color's pool as configured: its instances and version. */
export interface PoolSettings {
  version: string | null;
  instances: string[];
}

import type { TracingSettings } from '../shared/tracing.js';

/** What the router runs with (parsed and resolved at the edge). */
export interface RouterSettings {
  host: string;
  port: number;
  /** A second listener whose every request goes to the standby; null for none. Loopback unless previewHost says otherwise. */
  previewPort: number | null;
  previewHost: string;
  active: Color;
  pools: Record<Color, PoolSettings>;
  bodyLimitBytes: number;
  /** Proxies whose X-Forwarded-For is passed on (addresses); others' is replaced. */
  trustProxy?: readonly string[];
  /** timeoutMs: a request's whole life; attemptTimeoutMs: one try's wait for a first byte; maxInFlight per instance. */
  upstream: { timeoutMs: number; attemptTimeoutMs: number; connections: number; maxInFlight: number };
  health: { intervalMs: number; timeoutMs: number; path: string; unhealthyThreshold: number; healthyThreshold: number };
  retry: { ratio: number; minPerSecond: number; windowSeconds: number };
  mirror: { maxInFlight: number };
  /** Shared with the instances: marks mirrored copies (they are answered, not audited). null: no mirroring. */
  routerSecret: string | null;
  /** HTTPS on the public and preview listeners from PEM files, reloaded when they change. */
  tls: { certFile: string; keyFile: string } | null;
  /** `standby`: serve live traffic from the standby while the active color has no healthy instance. */
  failover: 'none' | 'standby';
  /** Client connections per listener at most: more are closed at once, so that descriptors stay for the rest. */
  maxConnections: number;
  /** Of those, one client address at most (trusted proxies exempt): one client cannot hold every slot. */
  maxConnectionsPerClient?: number;
  /** Slow clients: headers must arrive within headersMs, the whole request within requestMs. */
  timeouts: { headersMs: number; requestMs: number; keepAliveMs: number };
  /** OpenTelemetry: where spans go; null or absent, no tracing. */
  tracing?: TracingSettings | null;
}
