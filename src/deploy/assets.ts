// The delivery assets kept in the repository, made from the code that renders them, so that they never drift
// (test/deploy/assets.test.ts compares): example renders for both modes, the alert rules, the dashboard.
// `npm run assets` writes them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadReleaseSpec } from '../release/spec.js';
import { ALERT_RULES } from './alerts.js';
import { grafanaDashboard } from './grafana.js';
import { parseRenderOptions } from './options.js';
import { HEADER, renderFiles } from './render.js';

/** The repository's root (where deploy/ is written). */
export const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/** The example renders: what `guardgate k8s render examples/lexicon-v2.yaml` writes with these flags. */
export const EXAMPLE_RENDERS: Array<{ dir: string; flags: Record<string, unknown> }> = [
  { dir: 'deploy/kubernetes/controller', flags: { namespace: 'moderation', image: 'ghcr.io/example/guardgate:0.1.0', host: 'moderation.example.com', certManagerIssuer: 'letsencrypt', monitoringLabels: { release: 'kube-prometheus-stack' } } },
  { dir: 'deploy/kubernetes/argo-rollouts', flags: { namespace: 'moderation', image: 'ghcr.io/example/guardgate:0.1.0', argoRollouts: true, host: 'moderation.example.com', certManagerIssuer: 'letsencrypt', monitoringLabels: { release: 'kube-prometheus-stack' } } },
];

/** Every asset: repository path → content. */
export function assetFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const spec = loadReleaseSpec(join(REPOSITORY, 'examples/lexicon-v2.yaml'));
  for (const { dir, flags } of EXAMPLE_RENDERS) {
    for (const file of renderFiles(spec, parseRenderOptions(flags))) files[`${dir}/${file.path}`] = file.content;
  }
  files['deploy/prometheus/guardgate-rules.yaml'] = `${HEADER}# Check: promtool check rules deploy/prometheus/guardgate-rules.yaml; test: promtool test rules deploy/prometheus/guardgate-rules.test.yaml\n${stringify({ groups: ALERT_RULES }, { lineWidth: 0 })}`;
  files['deploy/grafana/guardgate.json'] = `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [path, content] of Object.entries(assetFiles())) {
    mkdirSync(dirname(join(REPOSITORY, path)), { recursive: true });
    writeFileSync(join(REPOSITORY, path), content);
    process.stdout.write(`${path}\n`);
  }
}
