// Prometheus Operator objects: ServiceMonitors for the instances (through a headless Service over every
// Guardgate pod, so that each pod is scraped once whatever the live and preview Services select) and for the
// controller's admin API, the alert rules as a PrometheusRule, and the Grafana dashboard as a ConfigMap that
// Grafana's sidecar imports (label grafana_dashboard). Instances' /metrics needs the metrics scope: Prometheus
// presents the `token` of the Secret `<app>-metrics` (an API key with scope metrics).
import { ALERT_RULES } from './alerts.js';
import { grafanaDashboard } from './grafana.js';
import { meta, type KubeObject } from './meta.js';
import type { RenderOptions } from './options.js';

/** The Secret with the token Prometheus scrapes with. */
export const metricsSecret = (options: RenderOptions): string => `${options.app}-metrics`;

/** One Service over every instance pod (label app), whatever its color or ReplicaSet: what Prometheus scrapes. */
export function podsService(options: RenderOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(options, `${options.app}-pods`, { 'guardgate.dev/scrape': 'instances' }),
    spec: { clusterIP: 'None', selector: { app: options.app }, ports: [{ name: 'http', port: options.port, targetPort: 'http' }] },
  };
}

function serviceMonitor(options: RenderOptions, name: string, selector: Record<string, string>, port: string, bearer: boolean): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: meta(options, name, options.monitoringLabels),
    spec: {
      selector: { matchLabels: selector },
      namespaceSelector: { matchNames: [options.namespace] },
      endpoints: [
        {
          port,
          path: '/metrics',
          interval: '15s',
          ...(bearer ? { authorization: { type: 'Bearer', credentials: { name: metricsSecret(options), key: 'token' } } } : {}),
        },
      ],
    },
  };
}

/** ServiceMonitors and PrometheusRules (Prometheus Operator). */
export function monitoringObjects(options: RenderOptions, withController: boolean): KubeObject[] {
  return [
    podsService(options),
    serviceMonitor(options, `${options.app}-instances`, { app: options.app, 'guardgate.dev/scrape': 'instances' }, 'http', true),
    ...(withController ? [serviceMonitor(options, `${options.app}-controller`, { app: `${options.app}-controller`, component: 'controller' }, 'admin', false)] : []),
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: meta(options, options.app, options.monitoringLabels), spec: { groups: ALERT_RULES } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(options, `${options.app}-dashboard`, { grafana_dashboard: '1' }),
      data: { 'guardgate.json': `${JSON.stringify(grafanaDashboard(), null, 2)}\n` },
    },
  ];
}
