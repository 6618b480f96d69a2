import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { NAMESPACES } from '../../charts/clusters.ts';
import { renderK8s, type RenderedApp } from '../../charts/render.ts';
import { kubernetesScope } from '../../constructs/k8s/observability.ts';
import { burnRateRecordings } from '../../constructs/monitoring/burn-rate.ts';
import { ruleParamsOf } from '../../constructs/monitoring/ringforge-rules.ts';
import type { RuleGroup } from '../../constructs/monitoring/rules.ts';
import { loadHetznerEnvironments } from '../../environments/index.ts';
import { alertCases } from './alert-cases.ts';
import { alertNames, runTool, scratchDir, unitTestFile, writeRuleFile } from './promtool.ts';

const envs = loadHetznerEnvironments();
const rendered = renderK8s(envs);
const clusters = [...new Set(rendered.map((r) => r.cluster))];
const dir = scratchDir('rules');
after(() => rmSync(dir, { recursive: true, force: true }));

const objectsOf = (cluster: string, app: string) =>
  rendered.find((r: RenderedApp) => r.cluster === cluster && r.app === app)?.objects ?? [];

/** The rule groups and the case table of one rendered cluster, from its own manifests. */
function clusterRules(cluster: string) {
  const rule = objectsOf(cluster, 'observability').find((o) => o.kind === 'PrometheusRule');
  assert.ok(rule, `${cluster}: no PrometheusRule in the observability app`);
  const groups = (rule.spec as { groups: RuleGroup[] }).groups;
  const podMonitor = objectsOf(cluster, 'postgres').find((o) => o.kind === 'PodMonitor');
  assert.ok(podMonitor, `${cluster}: no Postgres PodMonitor`);
  const env = envs.find((e) => cluster.startsWith(`dist/k8s/${e.name}`))!;
  const region = env.regions.length > 1 ? cluster.split('/').at(-1)! : env.regions[0]!.name;
  const params = ruleParamsOf(env);
  const scope = kubernetesScope({
    namespace: NAMESPACES.hub,
    dataNamespace: NAMESPACES.data,
    postgresPodMonitor: podMonitor.metadata.name,
    environment: env.name,
    region,
  });
  return { groups, cases: alertCases(scope, params), slug: cluster.replace(/[^a-z0-9]+/g, '-') };
}

describe('alert rules under promtool', () => {
  test('every Kubernetes cluster is checked', () => {
    assert.deepEqual(clusters, ['dist/k8s/staging', 'dist/k8s/prod/fsn1', 'dist/k8s/prod/hel1']);
  });

  for (const cluster of clusters) {
    test(`${cluster}: promtool check rules accepts every group`, () => {
      const { groups, slug } = clusterRules(cluster);
      const file = writeRuleFile(scratchDir(slug), groups);
      const run = runTool('promtool', ['check', 'rules', '--lint=all', '--lint-fatal', file]);
      assert.equal(run.status, 0, run.output);
      const count = groups.reduce((n, g) => n + g.rules.length, 0);
      assert.match(run.output, new RegExp(`SUCCESS: ${count} rules found`));
    });

    test(`${cluster}: each alert fires on its synthetic series and stays silent on the others`, () => {
      const { groups, cases, slug } = clusterRules(cluster);
      assert.deepEqual(Object.keys(cases).sort(), alertNames(groups).sort(), 'one case entry per rendered alert');
      const caseDir = scratchDir(slug);
      const ruleFile = writeRuleFile(caseDir, groups);
      const testFile = join(caseDir, 'tests.yaml');
      writeFileSync(testFile, stringify(unitTestFile(ruleFile, groups, cases), { lineWidth: 0 }));
      const run = runTool('promtool', ['test', 'rules', testFile]);
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, /SUCCESS/);
    });
  }

  test('promtool test rules fails when a silent situation is expected to fire', () => {
    const { groups, cases } = clusterRules(clusters[0]!);
    const hubDown = cases.RingforgeHubDown!;
    const swapped = { RingforgeHubDown: { firing: hubDown.silent[0]!, silent: [hubDown.firing] } };
    const ruleFile = writeRuleFile(dir, groups);
    const testFile = join(dir, 'swapped.yaml');
    writeFileSync(testFile, stringify(unitTestFile(ruleFile, groups, swapped), { lineWidth: 0 }));
    const run = runTool('promtool', ['test', 'rules', testFile]);
    assert.notEqual(run.status, 0, 'promtool passed expectations that are wrong');
    assert.match(run.output, /RingforgeHubDown/);
  });

  test('a latency SLO without a histogram bucket at its threshold is refused, naming the field', () => {
    assert.throws(
      () => burnRateRecordings(kubernetesScopeFor('staging'), { maxErrorRate: 0.001, apiP95Ms: 275 }),
      /slo\.apiP95Ms: 275 ms must be a bucket bound of hub_request_duration_seconds/,
    );
  });
});

function kubernetesScopeFor(environment: string) {
  return kubernetesScope({
    namespace: NAMESPACES.hub,
    dataNamespace: NAMESPACES.data,
    postgresPodMonitor: 'pg',
    environment,
    region: 'nbg1',
  });
}
