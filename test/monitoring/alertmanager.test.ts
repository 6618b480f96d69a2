import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { renderK8s } from '../../charts/render.ts';
import { loadHetznerEnvironments, resolveEnvironment } from '../../environments/index.ts';
import prod from '../../environments/prod.ts';
import { runTool, scratchDir } from './promtool.ts';

const envs = loadHetznerEnvironments();
const rendered = renderK8s(envs);
const dir = scratchDir('alertmanager');
after(() => rmSync(dir, { recursive: true, force: true }));

type HelmValues = {
  alertmanager: { config: Record<string, unknown>; alertmanagerSpec: { secrets: string[] } };
  prometheus: { prometheusSpec: { externalLabels: Record<string, string> } };
};

/** The kube-prometheus-stack values of each cluster's app-of-apps, as ArgoCD hands them to Helm. */
const stacks = rendered
  .filter((r) => r.app === 'applications')
  .map((r) => {
    const app = r.objects.find((o) => o.metadata.name === 'kube-prometheus-stack');
    assert.ok(app, `${r.cluster}: no kube-prometheus-stack Application`);
    const values = (app.spec as { source: { helm: { valuesObject: HelmValues } } }).source.helm.valuesObject;
    return { cluster: r.cluster, env: envs.find((e) => r.cluster.startsWith(`dist/k8s/${e.name}`))!, values };
  });

function configFile(cluster: string, config: Record<string, unknown>): string {
  const path = join(dir, `${cluster.replace(/[^a-z0-9]+/g, '-')}.yaml`);
  writeFileSync(path, stringify(config, { lineWidth: 0 }));
  return path;
}

/** The receivers amtool says an alert with these labels reaches, in order. */
function receiversOf(file: string, labels: Record<string, string>): string {
  const run = runTool('amtool', [
    'config',
    'routes',
    'test',
    `--config.file=${file}`,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
  ]);
  assert.equal(run.status, 0, run.output);
  return run.output.trim();
}

describe('Alertmanager configurations under amtool', () => {
  test('every Kubernetes cluster renders one', () => {
    assert.deepEqual(
      stacks.map((s) => s.cluster),
      ['dist/k8s/staging', 'dist/k8s/prod/fsn1', 'dist/k8s/prod/hel1'],
    );
  });

  for (const { cluster, env, values } of stacks) {
    test(`${cluster}: amtool check-config accepts it`, () => {
      const run = runTool('amtool', ['check-config', configFile(cluster, values.alertmanager.config)]);
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, new RegExp(`- ${env.alerting.receivers.length + 1} receivers`));
      assert.match(run.output, /- 3 inhibit rules/);
    });

    test(`${cluster}: each severity reaches the environment's receivers, and the dead man's switch no one`, () => {
      const file = configFile(cluster, values.alertmanager.config);
      const place = values.prometheus.prometheusSpec.externalLabels;
      assert.equal(place.environment, env.name);
      for (const severity of ['critical', 'warning'] as const) {
        assert.equal(
          receiversOf(file, { alertname: 'RingforgeHubDown', severity, ...place }),
          env.alerting.routes[severity].join(','),
        );
      }
      assert.equal(receiversOf(file, { alertname: 'Watchdog', severity: 'none' }), 'discard');
    });

    test(`${cluster}: secrets are mounted files, never values`, () => {
      const text = stringify(values.alertmanager.config);
      for (const field of ['api_url:', 'routing_key:', 'auth_password:', 'url:']) {
        assert.ok(!text.includes(`${field} `), `${cluster}: ${field} carries a value inline`);
      }
      const files = [...text.matchAll(/_file: (\S+)/g)].map(([, f]) => f!);
      assert.ok(files.length > 0);
      for (const f of files) {
        const [, secret] = /^\/etc\/alertmanager\/secrets\/([^/]+)\/[^/]+$/.exec(f) ?? [];
        assert.ok(secret && values.alertmanager.alertmanagerSpec.secrets.includes(secret), `${f} is not mounted`);
      }
    });
  }

  test('amtool check-config rejects a broken configuration (the check can fail)', () => {
    const { values } = stacks[0]!;
    const broken = { ...values.alertmanager.config, route: { receiver: 'nobody' } };
    const run = runTool('amtool', ['check-config', configFile('broken', broken)]);
    assert.notEqual(run.status, 0);
    assert.match(run.output, /nobody/);
  });
});

describe('the alerting section of an environment file', () => {
  const broken = (alerting: unknown) => () =>
    resolveEnvironment('environments/broken.ts', { ...prod, alerting: { ...prod.alerting, ...(alerting as object) } });

  test('a route naming an unknown receiver is refused, naming the field', () => {
    assert.throws(
      broken({ routes: { critical: ['pager'], warning: ['team-chat'] } }),
      /alerting\.routes\.critical\.0: must name a receiver of alerting\.receivers .*got pager/,
    );
  });

  test('a credential written inline instead of a Secret reference is refused', () => {
    const receivers = [{ name: 'oncall', type: 'pagerduty', routingKey: 'e93facc04764012d7bfb002500d5d1a6' }];
    assert.throws(broken({ receivers }), /alerting\.receivers\.0\.routingKey/);
  });

  test('receiver names are unique', () => {
    const chat = prod.alerting.receivers[1];
    assert.throws(broken({ receivers: [chat, chat] }), /alerting\.receivers\.1\.name: must be unique/);
  });

  test('a severity without receivers is refused', () => {
    assert.throws(
      broken({ routes: { critical: [], warning: ['team-chat'] } }),
      /alerting\.routes\.critical: must name at least one receiver/,
    );
  });
});
