// The dashboard, the alert rules and the Argo Rollouts analysis query what the services export: every metric
// they name is in a scrape of `guardgate up` (router, controller) and of an instance; Debian's Prometheus,
// scraping them under traffic, runs every query without error, and the dashboard's main panels have data;
// promtool checks the rule file and runs its unit tests.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_RULES } from '../../src/deploy/alerts.js';
import { REPOSITORY } from '../../src/deploy/assets.js';
import { dashboardQueries } from '../../src/deploy/grafana.js';
import { parseRenderOptions } from '../../src/deploy/options.js';
import { renderObjects } from '../../src/deploy/render.js';
import { loadReleaseSpec, parseReleaseSpec } from '../../src/release/spec.js';
import type { RunningUp } from '../../src/app/up.js';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { until } from '../helpers/router.js';
import { predict, startTestUp } from '../helpers/up.js';
import { requireService } from '../helpers/services.js';

const METRIC = /\b(guardgate_[a-z0-9_]+|http_request_duration_seconds(?:_bucket|_count|_sum)?)\b/g;
const namesIn = (exprs: string[]) => new Set(exprs.flatMap((e) => [...e.matchAll(METRIC)].map((m) => m[1]!)));

/** The Prometheus queries of the rendered Argo Rollouts analysis (after promotion), for a spec that wants evidence. */
function analysisQueries(): string[] {
  const lexicon = loadReleaseSpec(join(REPOSITORY, 'examples/lexicon-v2.yaml'));
  const spec = parseReleaseSpec({ ...lexicon, gates: { ...lexicon.gates, watch: { ...lexicon.gates.watch, onInconclusive: 'fail' } } }, 'test');
  const watch = renderObjects(spec, parseRenderOptions({ argoRollouts: true }))['analysis.yaml']!.find((o) => o.metadata.name === 'guardgate-watch') as unknown as { spec: { metrics: Array<{ provider: { prometheus: { query: string } } }> } };
  return watch.spec.metrics.map((m) => m.provider.prometheus.query);
}

const alertExprs = () => ALERT_RULES.flatMap((g) => g.rules.map((r) => r.expr));

async function exported(url: string, token: string): Promise<Set<string>> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const names = new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]));
  // Declared metrics without a sample yet (a counter by label before its first count) are exported too.
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${name}${suffix}`);
  }
  return names;
}

describe('observability assets against what the services export', () => {
  let up: RunningUp;
  let names: Set<string>;
  let instanceUrl: string;
  beforeAll(async () => {
    up = await startTestUp();
    for (let i = 0; i < 20; i++) expect((await predict(up.url, `hello ${i}`)).status).toBe(200);
    instanceUrl = up.driver.describe('blue')!.instances[0]!.url;
    names = new Set([...(await exported(up.adminUrl, up.token)), ...(await exported(instanceUrl, up.token))]);
  });
  afterAll(async () => up?.close());

  it.each([
    ['the dashboard', dashboardQueries],
    ['the alert rules', alertExprs],
    ['the Argo Rollouts analysis', analysisQueries],
  ])('%s names only exported metrics', (_what, queries) => {
    const used = namesIn(queries());
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !names.has(name))).toEqual([]);
  });

  it('the check sees a misspelled metric (it can fail)', () => {
    expect([...namesIn(['sum(rate(guardgate_verdict_total[5m]))'])].filter((name) => !names.has(name))).toEqual(['guardgate_verdict_total']);
  });

  it('the dashboard file is importable JSON: unique panel ids, every target a query on the data source variable', () => {
    const dashboard = JSON.parse(readFileSync(join(REPOSITORY, 'deploy/grafana/guardgate.json'), 'utf8')) as { uid: string; panels: Array<{ id: number; targets: Array<{ expr: string; datasource: { uid: string } }> }>; templating: { list: Array<{ name: string; type: string }> } };
    expect(dashboard.uid).toBe('guardgate');
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource' }));
    for (const panel of dashboard.panels) for (const target of panel.targets) expect(target).toMatchObject({ expr: expect.any(String), datasource: { uid: '${datasource}' } });
  });

  describe('in Prometheus', () => {
    let prometheus: RunningPrometheus | undefined;
    beforeAll(async () => {
      if (!(await prometheusInstalled())) {
        if (process.env.CI === 'true') throw new Error('prometheus (Debian package) is needed under CI');
        return;
      }
      prometheus = await startPrometheus([new URL(up.adminUrl).host], { targets: [new URL(instanceUrl).host], bearer: up.token });
    });
    afterAll(async () => prometheus?.stop());

    const query = async (expr: string) => {
      const response = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    };

    it('runs every dashboard, alert and analysis query without error, and the main panels have data under traffic', async (context) => {
      if (!requireService(prometheus !== undefined, 'prometheus (Debian package prometheus)', (note) => context.skip(note))) return;
      for (const expr of [...dashboardQueries(), ...alertExprs(), ...analysisQueries()]) {
        const answer = await query(expr);
        expect(answer.status, `${expr}: ${answer.error}`).toBe('success');
      }
      const [requestRate, , latency] = dashboardQueries();
      // Traffic while Prometheus scrapes: the request rate by color and version, and the latency, have series, and
      // the rate is above zero (a series appears with the first scrape, its rate only with two that differ).
      const above = (answer: { data?: { result: unknown[] } }) => (answer.data?.result as Array<{ value: [number, string] }> | undefined)?.some((r) => Number(r.value[1]) > 0) === true;
      await until(async () => {
        await predict(up.url, `still here ${Date.now()}`);
        return above(await query(requestRate!)) && ((await query(latency!)).data?.result.length ?? 0) > 0;
      }, 60_000);
      const rate = (await query(requestRate!)).data!.result as Array<{ metric: { color: string; version: string }; value: [number, string] }>;
      expect(rate.find((r) => Number(r.value[1]) > 0)?.metric).toMatchObject({ color: 'blue', version: 'initial' });
      const ready = (await query('max(guardgate_active_ready_instances)')).data!.result as Array<{ value: [number, string] }>;
      expect(ready[0]!.value[1]).toBe('1');
    });
  });

  it('promtool accepts the rule file and its unit tests pass', async (context) => {
    const run = promisify(execFile);
    const installed = await run('promtool', ['--version']).then(
      () => true,
      () => false,
    );
    if (!requireService(installed, 'promtool (Debian package prometheus)', (note) => context.skip(note))) return;
    const rules = join(REPOSITORY, 'deploy/prometheus');
    const check = await run('promtool', ['check', 'rules', join(rules, 'guardgate-rules.yaml')]);
    expect(check.stdout).toMatch(new RegExp(`SUCCESS: ${alertExprs().length} rules found`));
    const tests = await run('promtool', ['test', 'rules', join(rules, 'guardgate-rules.test.yaml')], { cwd: rules });
    expect(tests.stdout).toMatch(/SUCCESS/);
  });
});
