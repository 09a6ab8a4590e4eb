// The alert rules for Guardgate, in Prometheus' rule-file shape: written to deploy/prometheus/ and rendered
// as a PrometheusRule. Every expression names only metrics the services export (test/deploy/observability).
// Instance metrics are the data path in every traffic mode; the controller's come from up's admin API (so
// the release and ready-instance alerts need the controller: with Argo Rollouts, Argo's own metrics tell).
// Per namespace: two installations in one Prometheus alert apart.

/** A Prometheus alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning' };
  annotations: { summary: string; description: string };
}

/** A group of them. */
export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** The moderation routes: what users call (health checks and metrics are not user traffic). */
const MODERATION = 'route=~"/predict|/v1/moderations"';

/** The alerts every deployment gets. */
export const ALERT_RULES: RuleGroup[] = [
  {
    name: 'guardgate',
    rules: [
      {
        alert: 'GuardgateHighErrorRate',
        expr: `sum by (namespace) (rate(http_request_duration_seconds_count{${MODERATION},status_code=~"5.."}[5m])) / sum by (namespace) (rate(http_request_duration_seconds_count{${MODERATION}}[5m])) > 0.01`,
        for: '5m',
        labels: { severity: 'critical' },
        annotations: {
          summary: 'More than 1% of moderation requests fail',
          description: 'Guardgate answers {{ $value | humanizePercentage }} of /predict and /v1/moderations with a 5xx: verdicts are missing. Check the engine (guardgate_engine_errors_total) and the audit store (audit_unavailable).',
        },
      },
      {
        alert: 'GuardgateHighLatencyP99',
        expr: `histogram_quantile(0.99, sum by (namespace, le) (rate(http_request_duration_seconds_bucket{${MODERATION}}[5m]))) > 2`,
        for: '10m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Moderation P99 over 2 s',
          description: 'The 99th percentile of moderation latency is {{ $value | humanizeDuration }}: applications waiting on verdicts slow down. Check guardgate_engine_duration_seconds.',
        },
      },
      {
        alert: 'GuardgateNoReadyActiveInstances',
        expr: 'max by (namespace) (guardgate_active_ready_instances) == 0',
        for: '1m',
        labels: { severity: 'critical' },
        annotations: {
          summary: 'The active color has no ready instance',
          description: 'No instance of the active environment is ready: moderation is down or running on the standby (failover). Roll back (guardgate rollback) or check the pods.',
        },
      },
      {
        alert: 'GuardgateReleaseStuck',
        expr: 'max by (namespace) (guardgate_release_open{state!~"blocked|awaiting_approval"}) == 1 and on (namespace) (time() - max by (namespace) (guardgate_release_last_transition_timestamp_seconds)) > 1800',
        for: '0m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'A release has not moved for 30 minutes',
          description: 'The release in progress has stayed in one state for more than 30 minutes without waiting for an operator: the controller may be wedged. See guardgate status and the controller log.',
        },
      },
      {
        alert: 'GuardgateReleaseWaitingForOperator',
        expr: 'max by (namespace) (guardgate_release_open{state=~"blocked|awaiting_approval"}) == 1',
        for: '1h',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'A release has waited an hour for an operator',
          description: 'A release is blocked by a gate or awaits approval: guardgate promote (or promote --force) or guardgate abort.',
        },
      },
      {
        alert: 'GuardgateCredentialRotationPending',
        expr: 'max by (namespace) (guardgate_credential_rotation_pending_since_timestamp_seconds) > 0 and on (namespace) (time() - max by (namespace) (guardgate_credential_rotation_pending_since_timestamp_seconds)) > 1800',
        for: '0m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'A credential rotation has not finished for 30 minutes',
          description: 'The pods accept both the old and the new gate token and router secret since a rotation began and did not finish (a pod did not take the new values in time): the old values are still good. See guardgate credentials status and history, then run guardgate credentials rotate again.',
        },
      },
      {
        alert: 'GuardgateAuditSpoolGrowing',
        expr: 'sum by (namespace) (guardgate_audit_backlog{where="spooled"}) > 0 and on (namespace) sum by (namespace) (deriv(guardgate_audit_backlog{where="spooled"}[10m])) > 0',
        for: '10m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Audit records pile up on local disk',
          description: '{{ $value }} audit records wait in instance spools because the audit store refuses them: nothing is lost yet, but the store needs attention before the spools or memory fill (then verdicts stop with audit_unavailable).',
        },
      },
      {
        alert: 'GuardgateDegradedVerdicts',
        expr: 'sum by (namespace) (rate(guardgate_degraded_verdicts_total{reason="engine_unavailable"}[5m])) > 0',
        for: '5m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Verdicts come from the fallback engine',
          description: 'The model server does not answer, so verdicts come from the embedded rules (degraded): coverage is much weaker. Check the model server.',
        },
      },
    ],
  },
];
