// The Grafana dashboard for Guardgate (importable JSON; rendered as a ConfigMap for Grafana's sidecar):
// request rate, errors and latency by color and version, cache hit rate, engine latency, the active color
// over time, with release transitions and switches as annotations. Data source: a variable, chosen at import.

interface Target {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  unit: string;
  targets: Target[];
  /** timeseries (default), or a state timeline for the active color. */
  type?: 'timeseries' | 'state-timeline' | 'stat';
  description?: string;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const MODERATION = 'route=~"/predict|/v1/moderations"';
/** Instance series labelled with their instance's color and version (guardgate_instance_info). */
const byRelease = (series: string): string => `${series} * on (instance) group_left (color, version) guardgate_instance_info`;
const quantile = (q: number, bucket: string, by: string): string => `histogram_quantile(${q}, sum by (le, ${by}) (${bucket}))`;

const PANELS: PanelSpec[] = [
  {
    title: 'Requests per second by color and version',
    unit: 'reqps',
    targets: [{ expr: `sum by (color, version) (${byRelease(`rate(http_request_duration_seconds_count{${MODERATION}}[1m])`)})`, legend: '{{color}} {{version}}' }],
  },
  {
    title: 'Error rate by color and version',
    unit: 'percentunit',
    targets: [
      {
        expr: `sum by (color, version) (${byRelease(`rate(http_request_duration_seconds_count{${MODERATION},status_code=~"5.."}[1m])`)}) / sum by (color, version) (${byRelease(`rate(http_request_duration_seconds_count{${MODERATION}}[1m])`)})`,
        legend: '{{color}} {{version}}',
      },
    ],
  },
  {
    title: 'Latency P50 and P99 by color and version',
    unit: 's',
    targets: [
      { expr: quantile(0.5, byRelease(`rate(http_request_duration_seconds_bucket{${MODERATION}}[1m])`), 'color, version'), legend: 'P50 {{color}} {{version}}' },
      { expr: quantile(0.99, byRelease(`rate(http_request_duration_seconds_bucket{${MODERATION}}[1m])`), 'color, version'), legend: 'P99 {{color}} {{version}}' },
    ],
  },
  {
    title: 'Active color',
    unit: 'none',
    type: 'state-timeline',
    description: '1 while the color takes live traffic (the controller).',
    targets: [{ expr: 'max by (color) (guardgate_controller_active_color)', legend: '{{color}}' }],
  },
  {
    title: 'Ready instances of the active color',
    unit: 'none',
    type: 'stat',
    targets: [{ expr: 'max(guardgate_active_ready_instances)', legend: 'ready' }],
  },
  {
    title: 'Cache hit rate',
    unit: 'percentunit',
    targets: [{ expr: 'sum(rate(guardgate_cache_requests_total{result="hit"}[5m])) / sum(rate(guardgate_cache_requests_total[5m]))', legend: 'hit rate' }],
  },
  {
    title: 'Engine latency P50 and P99',
    unit: 's',
    targets: [
      { expr: quantile(0.5, 'rate(guardgate_engine_duration_seconds_bucket[5m])', 'engine'), legend: 'P50 {{engine}}' },
      { expr: quantile(0.99, 'rate(guardgate_engine_duration_seconds_bucket[5m])', 'engine'), legend: 'P99 {{engine}}' },
    ],
  },
  {
    title: 'Verdicts by safety tier',
    unit: 'reqps',
    targets: [{ expr: 'sum by (safety) (rate(guardgate_verdicts_total[5m]))', legend: '{{safety}}' }],
  },
  {
    title: 'Engine errors and degraded verdicts',
    unit: 'reqps',
    targets: [
      { expr: 'sum by (code) (rate(guardgate_engine_errors_total[5m]))', legend: 'error {{code}}' },
      { expr: 'sum by (reason) (rate(guardgate_degraded_verdicts_total[5m]))', legend: 'degraded: {{reason}}' },
    ],
  },
  {
    title: 'Router: requests by color and upstream P99 (traffic router)',
    unit: 'reqps',
    targets: [
      { expr: 'sum by (color) (rate(guardgate_router_requests_total[1m]))', legend: 'requests {{color}}' },
      { expr: quantile(0.99, 'rate(guardgate_router_upstream_duration_seconds_bucket[1m])', 'color'), legend: 'upstream P99 {{color}} (s)' },
    ],
  },
  {
    title: 'Audit backlog',
    unit: 'none',
    description: 'Records not yet in the audit store: buffered in memory, or spooled on local disk.',
    targets: [{ expr: 'sum by (where) (guardgate_audit_backlog)', legend: '{{where}}' }],
  },
];

/** Release transitions and switches, drawn as annotations on every panel. */
const ANNOTATIONS = [
  { name: 'Release transitions', expr: 'changes(max(guardgate_release_last_transition_timestamp_seconds)[2m:15s]) > 0', iconColor: 'blue', titleFormat: 'release moved' },
  { name: 'Switches', expr: 'changes(max by (color) (guardgate_controller_active_color)[2m:15s]) > 0 and max by (color) (guardgate_controller_active_color) == 1', iconColor: 'orange', titleFormat: 'switched to {{color}}' },
];

/** Every PromQL expression the dashboard runs (panels and annotations). */
export const dashboardQueries = (): string[] => [...PANELS.flatMap((p) => p.targets.map((t) => t.expr)), ...ANNOTATIONS.map((a) => a.expr)];

/** The Grafana dashboard of a deployment. */
export function grafanaDashboard() {
  const width = 12;
  const height = 8;
  return {
    title: 'Guardgate',
    uid: 'guardgate',
    description: 'Qwen3Guard moderation behind Guardgate: traffic, errors and latency by color and version, releases.',
    tags: ['guardgate', 'moderation'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    templating: { list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }] },
    annotations: {
      list: ANNOTATIONS.map((a) => ({ name: a.name, datasource: DATASOURCE, enable: true, expr: a.expr, iconColor: a.iconColor, titleFormat: a.titleFormat, step: '15s' })),
    },
    panels: PANELS.map((panel, index) => ({
      id: index + 1,
      type: panel.type ?? 'timeseries',
      title: panel.title,
      ...(panel.description ? { description: panel.description } : {}),
      datasource: DATASOURCE,
      gridPos: { h: height, w: width, x: (index % 2) * width, y: Math.floor(index / 2) * height },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      options: {},
      targets: panel.targets.map((target, i) => ({ datasource: DATASOURCE, expr: target.expr, legendFormat: target.legend, refId: String.fromCharCode(65 + i) })),
    })),
  };
}
