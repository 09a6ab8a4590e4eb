// `guardgate k8s render`: the release spec as Kubernetes manifests (src/deploy/), to a directory or stdout.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CliExit } from './client.js';
import { EXIT } from './exit-codes.js';
import { collect } from './flags.js';

interface RenderFlags {
  out?: string;
  argoRollouts?: boolean;
  namespace?: string;
  app?: string;
  image?: string;
  port?: string;
  traffic?: string;
  host?: string;
  tlsSecret?: string;
  ingressClass?: string;
  certManagerIssuer?: string;
  gateway?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  anonymous?: boolean;
  prometheusUrl?: string;
  monitoringLabel: string[];
  /** commander's --no-monitoring. */
  monitoring: boolean;
}

/** Flags to the options object the schema checks (src/deploy/options.ts). */
function optionsOf(flags: RenderFlags): Record<string, unknown> {
  const labels = Object.fromEntries(
    flags.monitoringLabel.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new CliExit(EXIT.usage, `--monitoring-label takes key=value (got ${pair.slice(0, 60)})`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const [gatewayName, gatewayNamespace] = flags.gateway?.split('/') ?? [];
  return {
    namespace: flags.namespace,
    app: flags.app,
    image: flags.image,
    port: flags.port,
    traffic: flags.traffic,
    argoRollouts: flags.argoRollouts === true,
    host: flags.host,
    tlsSecret: flags.tlsSecret,
    ingressClass: flags.ingressClass,
    certManagerIssuer: flags.certManagerIssuer,
    gateway:
      gatewayName === undefined
        ? undefined
        : { name: gatewayName, ...(gatewayNamespace ? { namespace: gatewayNamespace } : {}) },
    jwt:
      flags.jwksUrl === undefined
        ? undefined
        : { jwksUrl: flags.jwksUrl, issuer: flags.jwtIssuer, audience: flags.jwtAudience },
    anonymous: flags.anonymous === true,
    prometheusUrl: flags.prometheusUrl,
    monitoringLabels: labels,
    monitoring: flags.monitoring,
  };
}

function render(): Command {
  return new Command('render')
    .description('render the release spec as Kubernetes manifests: kustomize-friendly YAML, no secret values')
    .argument('<spec>', 'the release spec (YAML): what the environments run, and the gates')
    .option('-o, --out <dir>', 'write the files (and kustomization.yaml) here; default: one YAML stream on stdout')
    .option(
      '--argo-rollouts',
      'a Rollout (blueGreen) with AnalysisTemplates from the gates, and the gate runner, instead of the Guardgate controller',
    )
    .option('--namespace <name>', 'the namespace (default default)')
    .option('--app <name>', 'name prefix and app label (default guardgate)')
    .option('--image <image>', 'the Guardgate image (default guardgate:latest)')
    .option('--port <port>', 'the port guardgate serve listens on in the pods (default 8080)')
    .option('--traffic <mode>', 'with the controller: service-selector (default) or gateway-api')
    .option('--host <name>', 'the public host name: an Ingress with TLS (or the HTTPRoute hostname)')
    .option('--tls-secret <name>', 'the Ingress certificate Secret (default <app>-tls)')
    .option('--ingress-class <name>', 'the Ingress class')
    .option('--cert-manager-issuer <name>', 'a cert-manager ClusterIssuer that makes the certificate')
    .option('--gateway <name[/namespace]>', 'the Gateway API Gateway the HTTPRoute attaches to')
    .option('--jwks-url <url>', 'callers may authenticate with JWTs signed by these keys (https)')
    .option('--jwt-issuer <iss>', 'the JWT issuer (with --jwks-url)')
    .option('--jwt-audience <aud>', 'the JWT audience (required with --jwks-url)')
    .option('--anonymous', 'serve /predict without credentials inside the cluster (not with --host)')
    .option(
      '--prometheus-url <url>',
      'the Prometheus Argo Rollouts asks after promotion (default http://prometheus-operated.monitoring.svc:9090)',
    )
    .option(
      '--monitoring-label <key=value>',
      'a label the Prometheus Operator selects ServiceMonitors and rules by (repeatable)',
      collect,
      [],
    )
    .option(
      '--no-monitoring',
      'leave out monitoring.yaml (ServiceMonitor, PrometheusRule): for a cluster without the Prometheus Operator, whose CRDs kubectl apply -k would otherwise miss',
    )
    .action(async (specPath: string, flags: RenderFlags) => {
      const { loadReleaseSpec } = await import('../release/spec.js');
      const { parseRenderOptions } = await import('../deploy/options.js');
      const { renderFiles, HEADER } = await import('../deploy/render.js');
      const spec = loadReleaseSpec(specPath);
      const options = parseRenderOptions(optionsOf(flags));
      let files;
      try {
        files = renderFiles(spec, options);
      } catch (error) {
        throw new CliExit(EXIT.usage, (error as Error).message);
      }
      if (flags.out === undefined) {
        process.stdout.write(
          files
            .filter((f) => f.path !== 'kustomization.yaml')
            .map((f) => f.content)
            .join('---\n'),
        );
        return;
      }
      mkdirSync(flags.out, { recursive: true });
      // Files an earlier render wrote that this one does not: gone, so that the directory is exactly the render.
      const written = new Set(files.map((f) => f.path));
      for (const name of readdirSync(flags.out)) {
        if (written.has(name) || !name.endsWith('.yaml')) continue;
        if (readFileSync(join(flags.out, name), 'utf8').startsWith(HEADER)) rmSync(join(flags.out, name));
      }
      for (const file of files) writeFileSync(join(flags.out, file.path), file.content);
      process.stdout.write(`${files.map((f) => join(flags.out!, f.path)).join('\n')}\n`);
    });
}

/** `guardgate k8s render`. */
export function k8sCommand(): Command {
  return new Command('k8s')
    .description('Kubernetes manifests for GitOps (kubectl, kustomize, Argo CD, Argo Rollouts)')
    .addCommand(render());
}
