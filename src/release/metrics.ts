// The controller's Prometheus metrics, read at scrape time from what it knows: the release in progress and
// its state, when it last moved, the active color, and how many instances of it are ready. Served on the
// admin API's /metrics with the router's; the alert rules (src/deploy/alerts.ts) and the dashboard read them.
import { Gauge, Registry } from 'prom-client';
import { COLORS } from '../vocabulary/colors.js';
import type { ControllerStatus } from './views.js';
import { RELEASE_STATES, isOpen } from './states.js';

/** What the controller's metrics read. */
export interface ControllerView {
  status(): Promise<ControllerStatus>;
  activeReadyInstances(): Promise<number>;
}

/** The controller's Prometheus metrics (active color, release state, ready instances). */
export function controllerMetrics(controller: ControllerView, registry = new Registry()): Registry {
  // One read per scrape feeds all four gauges; when the store does not answer they keep their last values.
  let reading: Promise<void> | undefined;
  const collect = () =>
    (reading ??= (async () => {
      const [status, readyCount] = await Promise.all([controller.status(), controller.activeReadyInstances()]);
      const release = status.release;
      for (const state of RELEASE_STATES)
        open.set({ state }, release !== null && release.state === state && isOpen(state) ? 1 : 0);
      if (release !== null) lastTransition.set(Date.parse(release.updatedAt) / 1000);
      for (const color of COLORS) active.set({ color }, color === status.active ? 1 : 0);
      ready.set(readyCount);
    })()
      .catch(() => undefined)
      .finally(() => (reading = undefined)));
  const open = new Gauge({
    name: 'guardgate_release_open',
    help: '1 for the state of the release in progress (none: no series at 1)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect,
  });
  const lastTransition = new Gauge({
    name: 'guardgate_release_last_transition_timestamp_seconds',
    help: 'When the latest release last changed state (Unix time)',
    registers: [registry],
    collect,
  });
  const active = new Gauge({
    name: 'guardgate_controller_active_color',
    help: '1 for the color the controller has active, 0 for the other',
    labelNames: ['color'] as const,
    registers: [registry],
    collect,
  });
  const ready = new Gauge({
    name: 'guardgate_active_ready_instances',
    help: 'Instances of the active color ready to serve, as the traffic sees them',
    registers: [registry],
    collect,
  });
  return registry;
}
