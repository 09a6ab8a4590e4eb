// `guardgate up`: the main job. Router, admin API, controller and the active environment, until Ctrl-C.
import { Command } from 'commander';
import { createLogger, logFormatOf } from '../shared/logger.js';
import type { RouterFlags } from '../config/router.js';
import { closeOnSignals } from './signals.js';

interface UpFlags extends RouterFlags {
  logLevel: string;
  initial?: string;
}

/** `guardgate up`. */
export function upCommand(): Command {
  return new Command('up')
    .description(
      'run Guardgate on this machine: the router on --port, the admin API, the controller and the active environment',
    )
    .option('-c, --config <file>', 'YAML configuration: listeners, TLS, auth, rate limits (docs/security.md)')
    .option('--host <host>', 'address of the public listener (API and playground); default 127.0.0.1')
    .option('-p, --port <port>', 'public port: API and playground (default 8080)')
    .option('--admin-host <host>', 'address of the admin API (default 127.0.0.1)')
    .option('--admin-port <port>', 'admin API port (default 8081)')
    .option('--tls-cert <file>', 'PEM certificate: HTTPS on the public port (reloaded when it changes)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option(
      '--tls-ca <file>',
      'PEM of the private CA that signed --tls-cert: the gates trust it (a self-signed --tls-cert needs none)',
    )
    .option('--insecure', 'serve /predict without credentials on a non-loopback --host')
    .option('--driver <kind>', 'where environments run: local (processes on this machine, the default) or kubernetes')
    .option(
      '--traffic <mode>',
      'what switches traffic: router (the default), or with driver kubernetes service-selector (a Service <app>) or gateway-api (an HTTPRoute; kubernetes.gateway in the config file)',
    )
    .option('--kubeconfig <file>', 'driver kubernetes: the cluster (default KUBECONFIG, in-cluster, or ~/.kube/config)')
    .option('--namespace <name>', 'driver kubernetes: the namespace (default default)')
    .option('--image <image>', 'driver kubernetes: the Guardgate image the pods run (default guardgate:latest)')
    .option(
      '--initial <spec>',
      'the environment to start with when none was ever deployed: a release spec file (default: the embedded rules)',
    )
    .option('--workers <n>', 'router processes serving traffic on the one port (node:cluster; default 1)')
    .option(
      '--data-dir <dir>',
      'state, audit log, admin token and API keys (default .guardgate; also GUARDGATE_DATA_DIR)',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .action(async (flags: UpFlags) => {
      const log = createLogger(
        { level: flags.logLevel, base: { service: 'guardgate' } },
        logFormatOf(process.env, process.stdout.isTTY === true),
      );
      const { parseRouterConfig } = await import('../config/router.js');
      const router = parseRouterConfig(flags, process.env);
      // Loaded here, not at start: every other command (an instance above all) stays without the controller.
      const { startUp } = await import('../app/up.js');
      const { loadReleaseSpec } = await import('../release/spec.js');
      // Stopped while it starts: it finishes starting (so that what it began is left whole), then closes, which
      // gives back the Lease on Kubernetes (the next controller need not wait for it to expire); a wait for
      // another controller's Lease is given up at once.
      const stopping = new AbortController();
      const stopWhileStarting = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'signal received while starting; stopping once started (again to stop at once)');
        stopping.abort();
      };
      process.once('SIGTERM', stopWhileStarting).once('SIGINT', stopWhileStarting);
      const up = await startUp(
        {
          router,
          ...(flags.initial === undefined ? {} : { initial: loadReleaseSpec(flags.initial) }),
          instanceEnv: process.env,
          logLevel: flags.logLevel === 'info' ? 'warn' : flags.logLevel,
          // Another controller acts now: stop at once (the Deployment restarts this one, which waits for the Lease).
          onLeadershipLost: () => process.exit(1),
          signal: stopping.signal,
        },
        log,
      )
        .finally(() => process.off('SIGTERM', stopWhileStarting).off('SIGINT', stopWhileStarting))
        .catch((error: unknown) => {
          if (stopping.signal.aborted) process.exit(0);
          throw error;
        });
      if (stopping.signal.aborted) {
        await up.close();
        process.exit(0);
      }
      log.info(
        {
          url: up.url,
          adminUrl: up.adminUrl,
          adminTokenFile: up.tokenFile,
          active: (await up.controller.status()).active,
        },
        'guardgate is up',
      );
      // On Kubernetes with a Service or a Gateway in front, clients go there: up's own router has no pods behind it.
      const k8s = router.kubernetes;
      const frontDoor =
        router.traffic === 'service-selector'
          ? [
              `  API (Service)       http://${k8s.app}.${k8s.namespace}.svc.cluster.local/  (in the cluster; the Service ${k8s.app} follows the active color)`,
            ]
          : router.traffic === 'gateway-api'
            ? [
                `  API (Gateway)       ${k8s.gateway?.url ?? ''}/  (the HTTPRoute ${k8s.app} on the Gateway ${k8s.gateway?.name ?? ''})`,
              ]
            : [`  API and playground  ${up.url}/`];
      const apiUrl =
        router.traffic === 'service-selector'
          ? `http://${k8s.app}.${k8s.namespace}.svc.cluster.local`
          : router.traffic === 'gateway-api'
            ? (k8s.gateway?.url ?? up.url)
            : up.url;
      process.stderr.write(
        [
          '',
          `  Guardgate is up.`,
          ...frontDoor,
          `  API access          ${up.access}`,
          `  dashboard           ${up.adminUrl}/dashboard`,
          `  admin API           ${up.adminUrl}/admin/status`,
          `  admin token         ${up.tokenFile ?? 'GUARDGATE_ADMIN_TOKEN'}`,
          `  try                 curl -s ${apiUrl}/predict -H 'content-type: application/json' -d '{"prompt":"How can I kill a Python process?"}'`,
          `  release             npx guardgate release examples/lexicon-v2.yaml --wait${router.dataDir === '.guardgate' ? '' : ` --data-dir ${router.dataDir}`}`,
          '',
        ].join('\n') + '\n',
      );
      closeOnSignals(log, () => up.close());
    });
}
