// What `guardgate k8s render` is told besides the release spec, parsed once from its flags.
import { z } from 'zod';
import { validate } from '../config/load.js';

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'lower-case letters, digits and -').max(63);
/** A DNS subdomain (an IngressClass, a ClusterIssuer): what Kubernetes names such objects by. */
const dnsSubdomain = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'lower-case letters, digits, - and .').max(253);
/** An image reference: registry/path:tag or @sha256 digest; nothing that could end its line. */
const imageReference = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:]*(@sha256:[a-f0-9]{64})?$/, 'an image reference like registry.example.com/guardgate:1.2.3').max(512);
/** Free text in one line (an audience, an issuer): no control characters. */
const oneLine = z.string().min(1).max(512).regex(/^[^\p{Cc}\u2028\u2029]+$/u, 'one line of text, without control characters');
/** A Kubernetes label key (optional prefix/name) and value. */
const labelKey = z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a label key: [prefix/]name of letters, digits, -, _ and .');
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'a label value: up to 63 letters, digits, -, _ and .');

/** What `k8s render` is told besides the release spec. */
export const renderOptionsSchema = z
  .object({
    namespace: dnsLabel.default('default'),
    /** The name prefix and app label of every object (at most 40 characters: names get suffixes). */
    app: dnsLabel.max(40).default('guardgate'),
    image: imageReference.default('guardgate:latest'),
    port: z.coerce.number().int().min(1).max(65535).default(8080),
    /** What moves traffic, with the Guardgate controller: a Service selector or a Gateway API route. */
    traffic: z.enum(['service-selector', 'gateway-api']).default('service-selector'),
    /** Argo Rollouts moves traffic instead: a Rollout and AnalysisTemplates, and the gate runner. */
    argoRollouts: z.boolean().default(false),
    /** The public host name: an Ingress (or the HTTPRoute's hostname), with TLS. */
    host: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).optional(),
    tlsSecret: dnsLabel.optional(),
    ingressClass: dnsSubdomain.optional(),
    /** cert-manager ClusterIssuer that makes the TLS Secret (annotation); none: the Secret is yours. */
    certManagerIssuer: dnsSubdomain.optional(),
    /** The Gateway an HTTPRoute attaches to (traffic gateway-api, or the route variant of the front door). */
    gateway: z.object({ name: dnsLabel, namespace: dnsLabel.optional() }).strict().optional(),
    /** Callers authenticate with JWTs from this issuer's JWKS (besides the API keys of the Secret). */
    jwt: z.object({ jwksUrl: z.url({ protocol: /^https$/ }), issuer: oneLine.optional(), audience: oneLine }).strict().optional(),
    /** Serve /predict without credentials inside the cluster (refused with a public host). */
    anonymous: z.boolean().default(false),
    /** Argo Rollouts' post-promotion analysis asks this Prometheus. */
    prometheusUrl: z.url({ protocol: /^https?$/ }).default('http://prometheus-operated.monitoring.svc:9090'),
    /** Labels the Prometheus Operator selects ServiceMonitors and PrometheusRules by (e.g. release=kube-prometheus-stack). */
    monitoringLabels: z.record(labelKey, labelValue).default({}),
    /** monitoring.yaml (Prometheus Operator objects); false on a cluster without its CRDs. */
    monitoring: z.boolean().default(true),
  })
  .strict()
  .superRefine((options, context) => {
    if (options.traffic === 'gateway-api' && options.gateway === undefined && !options.argoRollouts) context.addIssue({ code: 'custom', path: ['gateway'], message: 'traffic gateway-api needs --gateway NAME (the Gateway the route attaches to)' });
    if (options.anonymous && options.host !== undefined) context.addIssue({ code: 'custom', path: ['anonymous'], message: 'a public host with anonymous access: configure --jwks-url or API keys instead' });
    // Flags that would do nothing are refused, not ignored.
    if (options.argoRollouts && options.traffic === 'gateway-api') context.addIssue({ code: 'custom', path: ['traffic'], message: 'with --argo-rollouts, Argo Rollouts moves traffic: drop --traffic (--gateway puts a route to the active Service)' });
    if (!options.argoRollouts && options.gateway !== undefined && options.traffic !== 'gateway-api') context.addIssue({ code: 'custom', path: ['gateway'], message: '--gateway needs --traffic gateway-api (or --argo-rollouts)' });
    for (const [flag, value] of [['--tls-secret', options.tlsSecret], ['--ingress-class', options.ingressClass], ['--cert-manager-issuer', options.certManagerIssuer]] as const) {
      if (value !== undefined && options.host === undefined) context.addIssue({ code: 'custom', path: ['host'], message: `${flag} needs --host` });
    }
  });

/** Parsed render options. */
export type RenderOptions = z.output<typeof renderOptionsSchema>;

/** Parse render options; every problem listed. */
export const parseRenderOptions = (value: unknown): RenderOptions => validate(renderOptionsSchema, value, 'the render options');

/** The Secrets the rendered objects name (created by you, never rendered: they hold secret values). */
export const secretNames = (options: RenderOptions) => ({
  /** GUARDGATE_ADMIN_TOKEN, DATABASE_URL (the controller's state and the audit log), optionally REDIS_URL. */
  controller: `${options.app}-controller`,
  /** api-keys.json, made by `guardgate keys add NAME --file api-keys.json`. */
  apiKeys: `${options.app}-api-keys`,
  /** Argo Rollouts mode: `token` (the admin token the gate runner and AnalysisTemplates use), DATABASE_URL, REDIS_URL... */
  gates: `${options.app}-gates`,
  /** The Ingress's certificate (made by cert-manager when an issuer is named). */
  tls: options.tlsSecret ?? `${options.app}-tls`,
});

/** The auth section of up.yaml and of the pods: JWT callers when configured, anonymous only when asked. */
export const renderedAuth = (options: RenderOptions): Record<string, unknown> => ({
  ...(options.jwt === undefined ? {} : { jwt: { jwksUrl: options.jwt.jwksUrl, audience: options.jwt.audience, ...(options.jwt.issuer === undefined ? {} : { issuer: options.jwt.issuer }) } }),
  anonymous: options.anonymous,
});
