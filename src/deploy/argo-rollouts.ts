// Argo Rollouts does the blue-green (or the canary steps: canaryStrategy), Guardgate proves the candidate: a
// Rollout (strategy blueGreen) with the
// pods the Kubernetes driver would run, its active and preview Services, and AnalysisTemplates built from the
// release spec's gates: before promotion a `web` metric per gate that calls the gate runner (`guardgate gates
// serve`, POST /admin/gates/run, against the preview Service), after it `prometheus` metrics for the error
// rate and P99 of the new version with a minimum of requests (too few is no evidence: it fails, unless the spec
// says an inconclusive watch passes).
import { createHash } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { API_KEYS_FILE, RESTRICTED, instanceConfigFile, labelValue, podTemplate, type KubernetesSettings } from '../drivers/kubernetes/manifests.js';
import { renderSettings } from './environments.js';
import { GATE_DIGEST_ENV } from '../drivers/kubernetes/pod-config.js';
import { environmentOf } from '../release/environment.js';
import { GATES_RUN_PATH } from '../gates/endpoint.js';
import { gateDeadlineMs, PRE_SWITCH_GATES } from '../gates/run.js';
import type { ReleaseSpec } from '../release/spec.js';
import { authSchema } from '../config/auth.js';
import { selectorServices } from './front-door.js';
import { disruptionBudget, meta, serviceUrl, type KubeObject } from './meta.js';
import { renderedAuth, secretNames, type RenderOptions } from './options.js';

const GATES_PORT = 8090;
/**
 * The gate runner's token (Secret `<app>-gates`, key `token`): what Argo presents to it, and what it sends to the
 * pods, which know only its digest (key `token-sha256`) and accept it as the gates' credential, nothing more.
 */
const TOKEN_ENV = 'GUARDGATE_ADMIN_TOKEN';

/** The gate runner's name, with Argo Rollouts. */
export const gateRunnerName = (options: RenderOptions): string => `${options.app}-gates`;

/**
 * Pods of the Rollout: configured as the driver's, but accepting the gate runner's token by its digest (no
 * controller writes one here), and `<app>-env` is yours to write (DATABASE_URL for the audit log: a pod's
 * own disk goes with the pod; REDIS_URL for the shared cache).
 */
function rolloutSettings(options: RenderOptions): KubernetesSettings {
  const settings = renderSettings(options);
  const auth = authSchema.parse(renderedAuth(options));
  return { ...settings, instanceConfig: { auth: { ...auth, apiKeysFile: API_KEYS_FILE, gateTokenSha256: { env: GATE_DIGEST_ENV } }, insecure: options.anonymous } };
}

const tokenEnv = (options: RenderOptions) => ({ name: TOKEN_ENV, valueFrom: { secretKeyRef: { name: secretNames(options).gates, key: 'token' } } });
const digestEnv = (options: RenderOptions) => ({ name: GATE_DIGEST_ENV, valueFrom: { secretKeyRef: { name: secretNames(options).gates, key: 'token-sha256' } } });

/** The spec's gates as the gate runner takes them: the shipped suite and corpus (files are not named over HTTP). */
function gateSettings(spec: ReleaseSpec): ReleaseSpec['gates'] {
  const { functional, shadow } = spec.gates;
  if (functional.suite !== undefined || (shadow.replay !== false && shadow.replay.corpus !== undefined)) {
    throw new Error('with --argo-rollouts the gates use the shipped suite and corpus: remove gates.functional.suite and gates.shadow.replay.corpus from the spec');
  }
  return spec.gates;
}

function rolloutObjects(spec: ReleaseSpec, options: RenderOptions): KubeObject[] {
  const settings = rolloutSettings(options);
  // A color-less environment: Argo Rollouts tells the two ReplicaSets apart by their pod-template hash.
  const environment = environmentOf(spec, 'blue', spec.replicas);
  // No color: the two sides are the Rollout's ReplicaSets (metrics and verdicts carry the version instead).
  const file = stringify({ ...(parse(instanceConfigFile(environment, settings)) as object), color: null }, { aliasDuplicateObjects: false });
  // Named by content: each ReplicaSet keeps the configuration it started with, so a rollback gets the old one back.
  const configName = `${options.app}-config-${createHash('sha256').update(file).digest('hex').slice(0, 10)}`;
  const labels = { app: options.app, version: labelValue(spec.version) };
  const template = podTemplate(environment, settings, labels, configName, [digestEnv(options)]);
  const scaleDown = Math.round(spec.scaleDownDelay / 1000);
  return [
    // Kept when a later render no longer lists it: old ReplicaSets (a rollback) still mount it.
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(options, configName, { version: labelValue(spec.version) }, { 'argocd.argoproj.io/sync-options': 'Prune=false' }), data: { 'instance.yaml': file } },
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: meta(options, options.app, {}, { 'guardgate.dev/version': spec.version }),
      spec: {
        replicas: spec.replicas,
        revisionHistoryLimit: 3,
        selector: { matchLabels: { app: options.app } },
        template,
        strategy: spec.strategy === 'canary' ? { canary: canaryStrategy(spec, options) } : {
          blueGreen: {
            activeService: options.app,
            previewService: `${options.app}-preview`,
            previewReplicaCount: spec.previewReplicas ?? spec.replicas,
            autoPromotionEnabled: spec.autoPromote,
            // Kept for an instant rollback (at least 30 s, Argo's floor for a safe switch).
            scaleDownDelaySeconds: Math.max(30, scaleDown),
            abortScaleDownDelaySeconds: Math.round(spec.abortTeardownDelay / 1000),
            ...(preSwitchGates(spec).length > 0 ? { prePromotionAnalysis: { templates: [{ templateName: gateRunnerName(options) }] } } : {}),
            ...(spec.gates.watch.enabled ? { postPromotionAnalysis: { templates: [{ templateName: `${options.app}-watch` }] } } : {}),
          },
        },
      },
    },
    // Argo Rollouts adds the pod-template hash to both selectors; they start at the app's pods.
    ...selectorServices(options).map((service) => ({ ...service, spec: { ...(service.spec as object), selector: { app: options.app } } }) as KubeObject),
    disruptionBudget(options, options.app, { app: options.app }),
  ];
}

const preSwitchGates = (spec: ReleaseSpec) => PRE_SWITCH_GATES.filter((gate) => spec.gates[gate].enabled);

/** Name of the template that judges each canary step. */
const canaryTemplateName = (options: RenderOptions): string => `${options.app}-canary`;

/**
 * `strategy: canary` as Argo Rollouts runs it: the canary and stable Services (the gate runner's preview and live);
 * the first weight, then the pre-switch gates against the canary pods; at each step a pause (its duration, or
 * until promoted) and the step's analysis (error rate against the stable pods', verdicts compared on the same
 * texts); the watch in the background from the last step. Without a traffic router Argo makes each weight by
 * replica counts: with 4 replicas, 5% is 1 pod of 5 (20%); name a weight the replicas can make.
 */
function canaryStrategy(spec: ReleaseSpec, options: RenderOptions) {
  const gates = preSwitchGates(spec);
  const steps = spec.canary.steps.flatMap((step, index) => [
    { setWeight: step.weight },
    ...(index === 0 && gates.length > 0 ? [{ analysis: { templates: [{ templateName: gateRunnerName(options) }] } }] : []),
    { pause: step.pause ? {} : { duration: `${step.durationSeconds}s` } },
    { analysis: { templates: [{ templateName: canaryTemplateName(options) }] } },
  ]);
  return {
    canaryService: `${options.app}-preview`,
    stableService: options.app,
    maxUnavailable: 0,
    steps,
    ...(spec.gates.watch.enabled
      ? {
          analysis: {
            templates: [{ templateName: `${options.app}-watch` }],
            startingStep: steps.length - 1,
          },
        }
      : {}),
  };
}

/**
 * What judges a canary step: the canary pods' error rate against the stable pods' over the step (Prometheus),
 * and their verdicts on the same texts (the gate runner's shadow gate, by replay, with the canary's thresholds).
 */
function canaryMetrics(spec: ReleaseSpec, options: RenderOptions) {
  const { canary } = spec;
  const namespace = JSON.stringify(options.namespace);
  const version = JSON.stringify(spec.version);
  const moderation = `{namespace=${namespace},route=~"/predict|/v1/moderations"`;
  const side = (match: string) => `guardgate_instance_info{namespace=${namespace},version${match}${version}}`;
  const window = `${Math.max(30, Math.max(...canary.steps.map((s) => s.durationSeconds)))}s`;
  const errorRate = (match: string) =>
    `(sum(rate(http_request_duration_seconds_count${moderation},status_code=~"5.."}[${window}]) * on (namespace, pod) group_left () ${side(match)}) or vector(0)) / sum(rate(http_request_duration_seconds_count${moderation}}[${window}]) * on (namespace, pod) group_left () ${side(match)})`;
  const settings = gateSettings(spec);
  const shadow = {
    ...settings,
    shadow: { ...settings.shadow, enabled: true, minAgreement: canary.minAgreement, maxUnsafeToSafe: canary.maxUnsafeToSafe },
  };
  return [
    {
      name: 'error-rate-increase',
      count: 1,
      failureLimit: 0,
      successCondition: `len(result) == 0 || isNaN(result[0]) || result[0] <= ${canary.maxErrorRateIncrease}`,
      provider: { prometheus: { address: options.prometheusUrl, query: `(${errorRate('=')}) - (${errorRate('!=')})` } },
    },
    {
      name: 'verdicts',
      count: 1,
      failureLimit: 0,
      consecutiveErrorLimit: 3,
      successCondition: 'result.pass == true',
      provider: gateRunnerCall(options, ['shadow'], shadow, gateDeadlineMs('shadow', shadow)),
    },
  ];
}

/** A call of the gate runner: these gates with these settings, the preview (canary) against the live (stable). */
function gateRunnerCall(options: RenderOptions, gates: string[], settings: ReleaseSpec['gates'], timeoutMs: number) {
  return {
    web: {
      url: `${serviceUrl(options, gateRunnerName(options), GATES_PORT)}${GATES_RUN_PATH}`,
      method: 'POST',
      headers: [
        { key: 'Authorization', value: 'Bearer {{args.token}}' },
        { key: 'Content-Type', value: 'application/json' },
      ],
      body: JSON.stringify({ gates, candidate: 'preview', baseline: 'live', settings }),
      timeoutSeconds: Math.ceil(timeoutMs / 1000) + 30,
      jsonPath: '{$}',
    },
  };
}

/** The web metric of one gate: what Argo sends, and how it reads the answer. */
function gateMetric(spec: ReleaseSpec, options: RenderOptions, gate: (typeof PRE_SWITCH_GATES)[number]) {
  const settings = gateSettings(spec);
  return {
    name: gate,
    count: 1,
    failureLimit: 0,
    // A 5xx (an endpoint that does not answer yet, a gate that broke) is an error: tried again, then the analysis errs.
    consecutiveErrorLimit: 3,
    interval: '30s',
    successCondition: 'result.pass == true',
    // The runner runs one gate at a time and Argo starts the metrics together: room for all of them.
    provider: gateRunnerCall(options, [gate], settings, preSwitchGates(spec).reduce((total, g) => total + gateDeadlineMs(g, settings), 0)),
  };
}

/** The new version's figures after promotion: its pods (guardgate_instance_info carries the version). */
function watchMetrics(spec: ReleaseSpec, options: RenderOptions) {
  const watch = spec.gates.watch;
  const seconds = watch.durationSeconds;
  // Label values quoted as PromQL strings (a JSON string is one): a version cannot end its string.
  const version = `guardgate_instance_info{namespace=${JSON.stringify(options.namespace)},version=${JSON.stringify(spec.version)}}`;
  const moderation = `{namespace=${JSON.stringify(options.namespace)},route=~"/predict|/v1/moderations"`;
  const ofVersion = (series: string) => `${series} * on (namespace, pod) group_left () ${version}`;
  const window = `${Math.max(30, seconds)}s`;
  const prometheus = (query: string) => ({ prometheus: { address: options.prometheusUrl, query } });
  return [
    ...(watch.onInconclusive === 'fail'
      ? [{ name: 'requests', initialDelay: `${seconds}s`, count: 1, failureLimit: 0, successCondition: `len(result) > 0 && result[0] >= ${watch.minRequests}`, provider: prometheus(`sum(${ofVersion(`increase(http_request_duration_seconds_count${moderation}}[${window}])`)})`) }]
      : []),
    {
      name: 'error-rate',
      // The first window after the switch holds only live traffic, not the gates' load on the preview.
      initialDelay: window,
      interval: '10s',
      count: Math.max(1, Math.round(seconds / 10)),
      failureLimit: 0,
      // No requests in a window is no error rate: the requests metric judges the evidence.
      successCondition: `len(result) == 0 || isNaN(result[0]) || result[0] <= ${watch.maxErrorRate}`,
      provider: prometheus(`sum(${ofVersion(`rate(http_request_duration_seconds_count${moderation},status_code=~"5.."}[${window}])`)}) / sum(${ofVersion(`rate(http_request_duration_seconds_count${moderation}}[${window}])`)})`),
    },
    {
      name: 'p99',
      initialDelay: window,
      interval: '10s',
      count: Math.max(1, Math.round(seconds / 10)),
      failureLimit: 0,
      successCondition: `len(result) == 0 || isNaN(result[0]) || result[0] <= ${watch.maxP99Ms / 1000}`,
      provider: prometheus(`histogram_quantile(0.99, sum by (le) (${ofVersion(`rate(http_request_duration_seconds_bucket${moderation}}[${window}])`)}))`),
    },
  ];
}

function analysisTemplates(spec: ReleaseSpec, options: RenderOptions): KubeObject[] {
  const gates = preSwitchGates(spec);
  return [
    ...(gates.length > 0
      ? [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'AnalysisTemplate',
            metadata: meta(options, gateRunnerName(options)),
            spec: {
              args: [{ name: 'token', valueFrom: { secretKeyRef: { name: secretNames(options).gates, key: 'token' } } }],
              metrics: gates.map((gate) => gateMetric(spec, options, gate)),
            },
          },
        ]
      : []),
    ...(spec.gates.watch.enabled ? [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'AnalysisTemplate', metadata: meta(options, `${options.app}-watch`), spec: { metrics: watchMetrics(spec, options) } }] : []),
    ...(spec.strategy === 'canary'
      ? [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'AnalysisTemplate',
            metadata: meta(options, canaryTemplateName(options)),
            spec: {
              args: [{ name: 'token', valueFrom: { secretKeyRef: { name: secretNames(options).gates, key: 'token' } } }],
              metrics: canaryMetrics(spec, options),
            },
          },
        ]
      : []),
  ];
}

/** The gate runner: `guardgate gates serve` with the live and preview Services. */
function gateRunnerObjects(options: RenderOptions): KubeObject[] {
  const name = gateRunnerName(options);
  const labels = { app: name, component: 'gates' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(options, name, labels),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'gates',
                securityContext: RESTRICTED,
                image: options.image,
                command: ['guardgate'],
                args: ['gates', 'serve', '--live', serviceUrl(options, options.app), '--preview', serviceUrl(options, `${options.app}-preview`), '--host', '0.0.0.0', '--port', String(GATES_PORT)],
                env: [tokenEnv(options)],
                ports: [{ name: 'gates', containerPort: GATES_PORT }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'gates' }, periodSeconds: 5 },
                resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '512Mi' } },
              },
            ],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: meta(options, name, labels), spec: { selector: labels, ports: [{ name: 'gates', port: GATES_PORT, targetPort: 'gates' }] } },
  ];
}

/** The Rollout, AnalysisTemplates and gate runner, with Argo Rollouts. */
export function argoRolloutsFiles(spec: ReleaseSpec, options: RenderOptions): Record<string, KubeObject[]> {
  return {
    'rollout.yaml': rolloutObjects(spec, options),
    'analysis.yaml': analysisTemplates(spec, options),
    'gate-runner.yaml': gateRunnerObjects(options),
  };
}
