// guardgate k8s render: every object it writes, in every mode, passes the Kubernetes, Gateway API, Argo
// Rollouts and Prometheus Operator schemas; kubectl accepts every file; the output is the same bytes for the
// same input, names Secrets without ever holding one, and the copies kept in deploy/ are what it renders now.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { assetFiles, REPOSITORY } from '../../src/deploy/assets.js';
import { parseRenderOptions } from '../../src/deploy/options.js';
import { renderFiles, renderObjects } from '../../src/deploy/render.js';
import { dropUnknownFields } from '../fake-cluster/unknown-fields.js';
import { loadReleaseSpec, parseReleaseSpec } from '../../src/release/spec.js';
import { startApiServer, validateKubeObject, type ApiServer } from '../fake-cluster/api-server.js';
import { CLI } from '../helpers/cli.js';
import { kubectl as runKubectl, kubectlWorks } from '../helpers/kubectl.js';
import { requireService } from '../helpers/services.js';

/** The built command, run to its end: exit status, stdout, stderr. */
const guardgate = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: tmpdir() });

const HOST = 'moderation.example.com';
const MODES: Array<[string, Record<string, unknown>]> = [
  ['the controller, a Service selector and an Ingress (cert-manager)', { host: HOST, certManagerIssuer: 'letsencrypt', ingressClass: 'nginx' }],
  ['the controller, a Gateway API route, JWT callers', { traffic: 'gateway-api', gateway: { name: 'edge', namespace: 'gateways' }, host: HOST, jwt: { jwksUrl: 'https://issuer.example.com/jwks.json', issuer: 'https://issuer.example.com', audience: 'guardgate' } }],
  ['Argo Rollouts with an Ingress', { argoRollouts: true, host: HOST, tlsSecret: 'moderation-tls', monitoringLabels: { release: 'kube-prometheus-stack' } }],
  ['Argo Rollouts behind a Gateway, anonymous inside the cluster', { argoRollouts: true, gateway: { name: 'edge' }, anonymous: true }],
];
const SPECS = ['examples/lexicon-v2.yaml', 'examples/vllm-qwen3guard-4b.yaml', 'examples/k8s-vllm-qwen3guard-8b.yaml'];
const spec = (path: string) => loadReleaseSpec(join(REPOSITORY, path));
const options = (flags: Record<string, unknown>) => parseRenderOptions({ namespace: 'moderation', image: 'registry.example.com/guardgate:1.2.3', ...flags });

describe('guardgate k8s render', () => {
  it.each(MODES)('writes objects that pass their schemas: %s', (_name, flags) => {
    for (const path of SPECS) {
      if (flags.argoRollouts && spec(path).gates.functional.suite !== undefined) continue;
      const files = renderObjects(spec(path), options(flags));
      const kinds = new Set<string>();
      for (const [file, objects] of Object.entries(files)) {
        expect(objects.length, file).toBeGreaterThan(0);
        for (const object of objects) {
          expect(() => validateKubeObject(object), `${path} ${file} ${object.kind} ${object.metadata.name}`).not.toThrow();
          // No field the API server would drop (or refuse, as `kubectl apply` asks it to: fieldValidation=Strict).
          expect(dropUnknownFields(structuredClone(object), object.apiVersion, object.kind), `${path} ${file} ${object.kind}`).toEqual([]);
          expect(object.metadata.namespace).toBe('moderation');
          kinds.add(object.kind);
        }
      }
      expect([...kinds].sort()).toEqual(
        flags.argoRollouts
          ? ['AnalysisTemplate', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'PrometheusRule', 'Rollout', 'Service', 'ServiceMonitor', flags.gateway ? 'HTTPRoute' : 'Ingress'].sort()
          : ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'PrometheusRule', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceMonitor', ...(flags.traffic === 'gateway-api' ? ['HTTPRoute'] : ['Ingress'])].sort(),
      );
    }
  });

  it('runs every Guardgate container at Pod Security level restricted, and the Role names the objects it may change', () => {
    for (const [, flags] of MODES) {
      for (const objects of Object.values(renderObjects(spec(SPECS[2]!), options(flags)))) {
        for (const object of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Rollout')) {
          const pod = (object.spec as { template: { spec: { containers: Array<{ name: string; securityContext?: Record<string, unknown> }> } } }).template.spec;
          // The restricted standard, the model server included (a GPU pod in a restricted namespace is admitted);
          // Guardgate's own file system is read-only besides.
          for (const container of pod.containers) {
            expect(container.securityContext, `${object.metadata.name}/${container.name}`).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
            if (container.name !== 'model-server') expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
          }
        }
        const role = objects.find((o) => o.kind === 'Role') as unknown as { rules: Array<{ verbs: string[]; resourceNames?: string[] }> } | undefined;
        // Anything but create, list and watch (collections, which no name can narrow) names its objects.
        for (const rule of role?.rules ?? []) if (rule.verbs.some((v) => !['create', 'list', 'watch'].includes(v))) expect(rule.resourceNames?.length, JSON.stringify(rule)).toBeGreaterThan(0);
      }
    }
  });

  it('renders plain objects (no YAML anchors or aliases), and leaves monitoring.yaml out with monitoring off', () => {
    for (const [, flags] of MODES) {
      const files = renderFiles(spec(SPECS[2]!), options(flags));
      for (const file of files) expect(file.content, file.path).not.toMatch(/(^|\s)[&*][a-z]\w*\s*$|: [&*][a-z]\w*\b/m);
      expect(files.map((f) => f.path)).toContain('monitoring.yaml');
      const plain = renderFiles(spec(SPECS[2]!), options({ ...flags, monitoring: false }));
      expect(plain.map((f) => f.path)).not.toContain('monitoring.yaml');
      expect(plain.find((f) => f.path === 'kustomization.yaml')!.content).not.toContain('monitoring.yaml');
    }
  });

  it('renders a canary release as Argo Rollouts canary steps: setWeight, a pause, the step analysis; gates first, the watch in the background', () => {
    const canary = spec('examples/lexicon-v2-canary.yaml');
    const files = renderObjects(canary, options({ argoRollouts: true }));
    for (const objects of Object.values(files)) for (const object of objects) expect(() => validateKubeObject(object), object.kind).not.toThrow();
    const rollout = files['rollout.yaml']!.find((o) => o.kind === 'Rollout')! as unknown as { spec: { strategy: { canary?: { steps: object[]; canaryService: string; stableService: string; analysis?: { startingStep: number } }; blueGreen?: object } } };
    const strategy = rollout.spec.strategy.canary!;
    expect(rollout.spec.strategy.blueGreen).toBeUndefined();
    expect([strategy.canaryService, strategy.stableService]).toEqual(['guardgate-preview', 'guardgate']);
    expect(strategy.steps).toEqual([
      { setWeight: 5 },
      { analysis: { templates: [{ templateName: 'guardgate-gates' }] } },
      { pause: { duration: '30s' } },
      { analysis: { templates: [{ templateName: 'guardgate-canary' }] } },
      { setWeight: 25 },
      { pause: {} },
      { analysis: { templates: [{ templateName: 'guardgate-canary' }] } },
      { setWeight: 50 },
      { pause: { duration: '60s' } },
      { analysis: { templates: [{ templateName: 'guardgate-canary' }] } },
    ]);
    expect(strategy.analysis!.startingStep).toBe(9);
    const template = files['analysis.yaml']!.find((o) => o.metadata.name === 'guardgate-canary')! as unknown as { spec: { metrics: Array<{ name: string; successCondition: string; provider: { web?: { body: string } } }> } };
    expect(template.spec.metrics.map((m) => m.name)).toEqual(['error-rate-increase', 'verdicts']);
    expect(template.spec.metrics[0]!.successCondition).toContain('<= 0.01');
    expect(JSON.parse(template.spec.metrics[1]!.provider.web!.body)).toMatchObject({ gates: ['shadow'], settings: { shadow: { enabled: true, minAgreement: 0.95, maxUnsafeToSafe: 0 } } });
  });

  it('the schemas refuse what Kubernetes would (the check can fail)', () => {
    const [deployment] = renderObjects(spec(SPECS[0]!), options({}))['environments.yaml']!.filter((o) => o.kind === 'Deployment');
    expect(() => validateKubeObject({ ...deployment!, spec: { ...(deployment!.spec as object), replicas: 'two' } } as typeof deployment & {})).toThrow();
    const rollout = renderObjects(spec(SPECS[0]!), options({ argoRollouts: true }))['rollout.yaml']!.find((o) => o.kind === 'Rollout')!;
    expect(() => validateKubeObject({ ...rollout, spec: { ...(rollout.spec as object), strategy: { blueGreen: { previewService: 'x' } } } } as typeof rollout)).toThrow(/activeService/);
  });

  it('renders the same bytes for the same input, without timestamps, and never a Secret or a secret value', () => {
    const canary = 'sk-canary-value-that-must-not-appear';
    process.env.GUARDGATE_ENGINE_API_KEY = canary;
    const keyed = parseReleaseSpec({ version: 'v3', engine: { kind: 'openai', baseUrl: 'http://vllm:8000/v1', model: 'Qwen/Qwen3Guard-Gen-4B', apiKey: { env: 'GUARDGATE_ENGINE_API_KEY' } } }, 'test');
    try {
      for (const [, flags] of MODES) {
        const first = renderFiles(keyed, options(flags));
        const second = renderFiles(keyed, options(flags));
        expect(second).toEqual(first);
        for (const file of first) {
          expect(file.content, file.path).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
          expect(file.content).not.toContain(canary);
          expect(file.content).not.toMatch(/^kind: Secret$/m);
        }
        // The engine's key is a reference the pods resolve from their own environment.
        if (!flags.argoRollouts) expect(first.find((f) => f.path === 'environments.yaml')!.content).toContain('env: GUARDGATE_ENGINE_API_KEY');
      }
    } finally {
      delete process.env.GUARDGATE_ENGINE_API_KEY;
    }
  });

  it('lists every file in kustomization.yaml, in order, and names the Secrets to create first', () => {
    for (const [, flags] of MODES) {
      const files = renderFiles(spec(SPECS[0]!), options(flags));
      const kustomization = files.find((f) => f.path === 'kustomization.yaml')!.content;
      const listed = (parseAllDocuments(kustomization)[0]!.toJSON() as { resources: string[] }).resources;
      expect(listed).toEqual(files.map((f) => f.path).filter((p) => p !== 'kustomization.yaml'));
      expect(kustomization).toContain(flags.argoRollouts ? 'create secret generic guardgate-gates' : 'create secret generic guardgate-controller');
    }
  });

  it('turns each gate of the spec into an Argo Rollouts analysis: web metrics before promotion, Prometheus after', () => {
    const lexicon = spec(SPECS[0]!);
    const files = renderObjects(lexicon, options({ argoRollouts: true }));
    const rollout = files['rollout.yaml']!.find((o) => o.kind === 'Rollout')! as unknown as { spec: { strategy: { blueGreen: Record<string, unknown> } } };
    expect(rollout.spec.strategy.blueGreen).toMatchObject({
      activeService: 'guardgate',
      previewService: 'guardgate-preview',
      autoPromotionEnabled: lexicon.autoPromote,
      scaleDownDelaySeconds: Math.max(30, lexicon.scaleDownDelay / 1000),
      prePromotionAnalysis: { templates: [{ templateName: 'guardgate-gates' }] },
      postPromotionAnalysis: { templates: [{ templateName: 'guardgate-watch' }] },
    });
    const [gates, watch] = files['analysis.yaml']! as unknown as Array<{ spec: { metrics: Array<Record<string, any>> } }>;
    expect(gates!.spec.metrics.map((m) => m.name)).toEqual(['functional', 'load', 'shadow']);
    for (const metric of gates!.spec.metrics) {
      expect(metric.successCondition).toBe('result.pass == true');
      expect(JSON.parse(metric.provider.web.body)).toMatchObject({ gates: [metric.name], candidate: 'preview', baseline: 'live', settings: { load: lexicon.gates.load } });
    }
    expect(watch!.spec.metrics.map((m) => m.name)).toEqual(lexicon.gates.watch.onInconclusive === 'fail' ? ['requests', 'error-rate', 'p99'] : ['error-rate', 'p99']);
    // A spec whose watch needs evidence gets a minimum of requests.
    const strict = { ...lexicon, gates: { ...lexicon.gates, watch: { ...lexicon.gates.watch, onInconclusive: 'fail' as const, minRequests: 50 } } };
    const requests = (renderObjects(strict, options({ argoRollouts: true }))['analysis.yaml']![1] as unknown as { spec: { metrics: Array<Record<string, any>> } }).spec.metrics[0]!;
    expect(requests).toMatchObject({ name: 'requests', successCondition: 'len(result) > 0 && result[0] >= 50' });
  });

  it('refuses what it cannot render, with the reason', () => {
    expect(() => parseRenderOptions({ traffic: 'gateway-api' })).toThrow(/--gateway/);
    expect(() => parseRenderOptions({ anonymous: true, host: HOST })).toThrow(/anonymous/);
    expect(() => parseRenderOptions({ namespace: 'Not_A_Name' })).toThrow(/namespace/);
    // Flags that would do nothing are refused rather than ignored.
    expect(() => parseRenderOptions({ argoRollouts: true, traffic: 'gateway-api' })).toThrow(/Argo Rollouts moves traffic/);
    expect(() => parseRenderOptions({ gateway: { name: 'edge' } })).toThrow(/--traffic gateway-api/);
    expect(() => parseRenderOptions({ tlsSecret: 'x' })).toThrow(/--tls-secret needs --host/);
    // A value that would break out of its line (YAML) or its string (PromQL) is refused at the edge.
    for (const [field, value] of [
      ['image', 'guardgate:1\n    securityContext: { privileged: true }'],
      ['ingressClass', 'nginx\nevil: true'],
      ['certManagerIssuer', 'letsencrypt\r\nx'],
      ['jwt', { jwksUrl: 'https://login.example.com/jwks', audience: 'guardgate\nissuer: evil' }],
      ['monitoringLabels', { release: 'kube-prometheus\nx: y' }],
      ['monitoringLabels', { 'bad key': 'x' }],
    ] as const) {
      expect(() => parseRenderOptions({ [field]: value, ...(field === 'ingressClass' || field === 'certManagerIssuer' ? { host: HOST } : {}) }), field).toThrow(new RegExp(field));
    }
    // A release version travels in response headers and PromQL: printable ASCII only, and quoted where it goes.
    expect(() => parseReleaseSpec({ version: 'v2\nx' }, 'spec.yaml')).toThrow(/version/);
    expect(() => parseReleaseSpec({ version: 'v2-β' }, 'spec.yaml')).toThrow(/version/);
    const quoted = renderObjects(parseReleaseSpec({ version: 'v2"} or vector(1) #' }, 'spec.yaml'), options({ argoRollouts: true }));
    const analyses = quoted['analysis.yaml'] as unknown as Array<{ spec: { metrics: Array<{ provider: { prometheus?: { query: string } } }> } }>;
    const promql = analyses.flatMap((a) => a.spec.metrics).map((m) => m.provider.prometheus?.query ?? '').join('\n');
    expect(promql).toContain('version="v2\\"} or vector(1) #"');
    const withSuite = { ...spec(SPECS[0]!), gates: { ...spec(SPECS[0]!).gates, functional: { ...spec(SPECS[0]!).gates.functional, suite: '/x/suite.yaml' } } };
    expect(() => renderObjects(withSuite, options({ argoRollouts: true }))).toThrow(/shipped suite/);
  });

  it('keeps deploy/ as it renders now (npm run assets writes it)', () => {
    for (const [path, content] of Object.entries(assetFiles())) {
      expect(existsSync(join(REPOSITORY, path)), `${path} is missing: npm run assets`).toBe(true);
      expect(readFileSync(join(REPOSITORY, path), 'utf8'), `${path} differs from a fresh render: npm run assets`).toBe(content);
    }
  });
});

describe('guardgate k8s render on the command line, and kubectl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guardgate-render-'));
  /** A fresh API server for kubectl, and a kubeconfig naming it. */
  const apiServer = async (name: string): Promise<{ api: ApiServer; kubectl: (...args: string[]) => Promise<{ code: number; output: string }> }> => {
    const api = await startApiServer();
    const kubeconfig = join(dir, `${name}.kubeconfig`);
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${api.url}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\ncurrent-context: fake\n`);
    // Asynchronously (helpers/kubectl.ts): the fake API server answering kubectl runs in this process.
    const kubectl = (...args: string[]) => runKubectl(args, { kubeconfig, timeoutMs: 60_000 });
    return { api, kubectl };
  };

  it.for([
    ['controller', []],
    ['argo-rollouts', ['--argo-rollouts', '--gateway', 'edge/gateways', '--host', HOST]],
  ] as Array<[string, string[]]>)('writes the %s files that kubectl apply -k applies, validated strictly', async ([name, flags], context) => {
    if (!requireService(await kubectlWorks(), 'kubectl', (note) => context.skip(note))) return;
    const out = join(dir, name);
    const cli = guardgate(['k8s', 'render', join(REPOSITORY, 'examples/lexicon-v2.yaml'), '--out', out, '--namespace', 'moderation', ...flags]);
    expect(cli.status, cli.stderr).toBe(0);
    const written = cli.stdout.trim().split('\n');
    expect(written.length).toBeGreaterThan(3);
    const documents = written
      .filter((f) => !f.endsWith('kustomization.yaml'))
      .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } }));
    const { api, kubectl } = await apiServer(name);
    try {
      // kubectl validates (no --validate=false): the API server says it checks fields (OpenAPI v3), so kubectl sends
      // fieldValidation=Strict with every write, and an unknown field is refused.
      const applied = await kubectl('apply', '-k', out);
      expect(applied.code, applied.output).toBe(0);
      expect(applied.output.match(/ created$/gm), applied.output).toHaveLength(documents.length);
      for (const { kind, metadata } of documents) expect(api.store.get(kind, 'moderation', metadata.name), `${kind} ${metadata.name}`).toBeDefined();
      expect(api.requests.filter((r) => r.method === 'POST').every((r) => r.path.includes('fieldValidation=Strict'))).toBe(true);
      // Applied again, nothing changes: what the API server defaulted is no difference to kubectl. (kubectl says
      // "configured" of a PodDisruptionBudget every time, on a real cluster too: its selector is patched by replace.)
      const revision = api.store.resourceVersion;
      const again = await kubectl('apply', '-k', out);
      expect(again.code, again.output).toBe(0);
      expect(again.output.match(/ (unchanged|configured)$/gm), again.output).toHaveLength(documents.length);
      expect(again.output.split('\n').filter((l) => l.endsWith(' configured') && !l.startsWith('poddisruptionbudget'))).toEqual([]);
      expect(api.store.resourceVersion).toBe(revision);
      // A typo in a rendered file is refused by the API server, through kubectl.
      const typo = join(dir, `${name}-typo.yaml`);
      writeFileSync(typo, readFileSync(written.find((f) => f.endsWith('front-door.yaml'))!, 'utf8').replace(/^spec:$/m, 'spec:\n  sessionAffinityy: None'));
      const refused = await kubectl('apply', '-f', typo);
      expect(refused.code).not.toBe(0);
      expect(refused.output).toMatch(/strict decoding error: unknown field "spec.sessionAffinityy"/);
    } finally {
      await api.close();
    }
    // A second render into the same directory removes what no longer applies, and nothing else.
    writeFileSync(join(out, 'mine.yaml'), 'kind: Note\n');
    const again = guardgate(['k8s', 'render', join(REPOSITORY, 'examples/lexicon-v2.yaml'), '--out', out, '--namespace', 'moderation']);
    expect(again.status, again.stderr).toBe(0);
    expect(existsSync(join(out, 'mine.yaml'))).toBe(true);
    if (name === 'argo-rollouts') expect(existsSync(join(out, 'rollout.yaml'))).toBe(false);
  });

  it('answers bad flags with a usage error (exit 2)', async () => {
    const cli = guardgate(['k8s', 'render', join(REPOSITORY, 'examples/lexicon-v2.yaml'), '--traffic', 'gateway-api']);
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/--gateway/);
  });
});
