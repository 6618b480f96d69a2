import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { renderCompose, renderMonitoringFiles } from '../../constructs/hetzner/roles/single-node.ts';
import { monitoringServerCloudConfig } from '../../constructs/hetzner/roles/tier1.ts';
import { backupMetricScript } from '../../constructs/hetzner/roles/wal-shipping.ts';
import {
  BACKUP_METRICS,
  serverMonitoringOf,
  serverRuleFile,
  serverScope,
  type ServerMonitoring,
} from '../../constructs/monitoring/servers.ts';
import type { RuleGroup } from '../../constructs/monitoring/rules.ts';
import { loadHetznerEnvironments, type HetznerEnvironment } from '../../environments/index.ts';
import prod from '../../environments/prod.ts';
import { tool } from '../../scripts/lib/tools.ts';
import { singleNodeProps } from '../../stacks/infra/single-node.ts';
import { cloudConfigOf, serversOf, synthEnvironment, tier1Environment } from '../helpers/synth.ts';
import { alertCases } from './alert-cases.ts';
import { alertNames, runTool, scratchDir, unitTestFile, writeRuleFile } from './promtool.ts';

const dir = scratchDir('tiers01');
after(() => rmSync(dir, { recursive: true, force: true }));

const dev = loadHetznerEnvironments().find((e) => e.tier === 0)!;
const tier1 = tier1Environment();
const tier1Stacks = synthEnvironment(tier1);
const tier1Infra = Object.entries(tier1Stacks).find(([name]) => name.endsWith('-infra'))![1];

/** Hetzner refuses user data larger than this. */
const USER_DATA_LIMIT = 32 * 1024;

/** The files cloud-init writes on a server, by path. */
function writtenFiles(server: Record<string, any>): Record<string, string> {
  const files = cloudConfigOf(server).write_files as { path: string; content: string }[];
  return Object.fromEntries(files.map((f) => [f.path, f.content]));
}

const tier1Monitor = serversOf(tier1Infra, 'postgres')[0]!;
const tier1Files = writtenFiles(tier1Monitor);

/** Each tier's rendered configs, as its servers get them. */
const tiers = [
  {
    name: 'tier 0 (dev)',
    env: dev,
    prometheus: renderMonitoringFiles(singleNodeProps(dev))['prometheus.yml'],
    rules: renderMonitoringFiles(singleNodeProps(dev))['rules.yaml'],
    alertmanager: renderMonitoringFiles(singleNodeProps(dev))['alertmanager.yml'],
    secretsDir: '/etc/alertmanager/secrets',
  },
  {
    name: 'tier 1',
    env: tier1,
    prometheus: tier1Files['/etc/ringforge/monitoring/prometheus.yml']!,
    rules: tier1Files['/etc/ringforge/monitoring/ringforge-rules.yaml']!,
    alertmanager: tier1Files['/etc/ringforge/monitoring/alertmanager.yml']!,
    secretsDir: '/etc/prometheus/secrets',
  },
];

const monitoringOf = (env: HetznerEnvironment): ServerMonitoring => serverMonitoringOf(env);

describe('tiers 0-1 monitoring under promtool and amtool', () => {
  for (const tier of tiers) {
    const groups = (parse(tier.rules) as { groups: RuleGroup[] }).groups;

    test(`${tier.name}: promtool check rules accepts every group, with every linter`, () => {
      const file = writeRuleFile(scratchDir('tiers01-rules'), groups);
      const run = runTool('promtool', ['check', 'rules', '--lint=all', '--lint-fatal', file]);
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, new RegExp(`SUCCESS: ${groups.reduce((n, g) => n + g.rules.length, 0)} rules found`));
    });

    test(`${tier.name}: each alert fires on postgres_exporter's and the hub's series and stays silent otherwise`, () => {
      const monitoring = monitoringOf(tier.env);
      assert.equal(serverRuleFile(monitoring), tier.rules, 'the rule file is the one rendered for the environment');
      const cases = alertCases(serverScope(monitoring), monitoring.rules);
      assert.deepEqual(Object.keys(cases).sort(), alertNames(groups).sort(), 'one case entry per rendered alert');
      const caseDir = scratchDir('tiers01-cases');
      const testFile = join(caseDir, 'tests.yaml');
      writeFileSync(testFile, stringify(unitTestFile(writeRuleFile(caseDir, groups), groups, cases), { lineWidth: 0 }));
      const run = runTool('promtool', ['test', 'rules', testFile]);
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, /SUCCESS/);
    });

    test(`${tier.name}: the rules read postgres_exporter's and the backup textfile's series, none of CloudNativePG's`, () => {
      assert.doesNotMatch(tier.rules, /cnpg_|barman_cloud_/);
      assert.match(tier.rules, /pg_stat_archiver_failed_count\{job="postgres"\}/);
      assert.match(tier.rules, new RegExp(`${BACKUP_METRICS.success}\\{job="node"\\}`));
    });

    test(`${tier.name}: promtool check config accepts prometheus.yml with its rule file`, () => {
      const config = parse(tier.prometheus) as { rule_files: string[]; scrape_configs: { job_name: string }[] };
      const ruleFile = writeRuleFile(scratchDir('tiers01-config'), groups);
      const file = join(dir, `${tier.env.name}-prometheus.yml`);
      writeFileSync(file, stringify({ ...config, rule_files: [ruleFile] }));
      const run = runTool('promtool', ['check', 'config', file]);
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, /SUCCESS: 1 rule files found/);
      const jobs = config.scrape_configs.map((j) => j.job_name);
      for (const job of ['hub', 'postgres', 'valkey', 'node', 'prometheus', 'alertmanager']) {
        assert.ok(jobs.includes(job), job);
      }
    });

    test(`${tier.name}: amtool check-config accepts alertmanager.yml, and each severity reaches its receivers`, () => {
      const file = join(dir, `${tier.env.name}-alertmanager.yml`);
      writeFileSync(file, tier.alertmanager);
      const run = runTool('amtool', ['check-config', file]);
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, new RegExp(`- ${tier.env.alerting.receivers.length + 1} receivers`));
      assert.match(run.output, /- 3 inhibit rules/);
      const place = [`environment=${tier.env.name}`, `region=${tier.env.regions[0]!.name}`];
      for (const severity of ['critical', 'warning'] as const) {
        const routes = runTool('amtool', [
          'config',
          'routes',
          'test',
          `--config.file=${file}`,
          'alertname=RingforgeBackupTooOld',
          `severity=${severity}`,
          ...place,
        ]);
        assert.equal(routes.output.trim(), tier.env.alerting.routes[severity].join(','));
      }
      const files = [...tier.alertmanager.matchAll(/_file: (\S+)/g)].map(([, f]) => f!);
      assert.ok(files.length > 0);
      for (const f of files) assert.ok(f.startsWith(`${tier.secretsDir}/`), `${f} is outside ${tier.secretsDir}`);
      assert.doesNotMatch(tier.alertmanager, /(api_url|routing_key|auth_password|url): \S/);
    });
  }

  test('every kind of receiver (e-mail, Slack, PagerDuty) passes amtool on a server', () => {
    const withProdRouting = { ...tier1, alerting: { ...tier1.alerting, ...prod.alerting } } as HetznerEnvironment;
    const files = renderMonitoringFiles({ ...singleNodeProps(dev), monitoring: monitoringOf(withProdRouting) });
    const file = join(dir, 'prod-routing.yml');
    writeFileSync(file, files['alertmanager.yml']);
    const run = runTool('amtool', ['check-config', file]);
    assert.equal(run.status, 0, run.output);
    for (const kind of ['email_configs', 'slack_configs', 'pagerduty_configs']) {
      assert.match(files['alertmanager.yml'], new RegExp(kind));
    }
  });
});

describe('tiers 0-1 monitoring on the servers', () => {
  test("tier 1 refuses a webhook receiver, whose url_file Debian bookworm's Alertmanager 0.25 does not know", () => {
    const webhook = { name: 'hook', type: 'webhook' as const, url: { secret: 'alertmanager-hook', key: 'url' } };
    const alerting = { ...tier1.alerting, receivers: [...tier1.alerting.receivers, webhook] };
    assert.throws(
      () => monitoringServerCloudConfig({ monitoring: { ...serverMonitoringOf(tier1), alerting }, targets: {} }),
      /alerting\.receivers\.1\.type: a webhook receiver \(hook\) needs Alertmanager 0\.26/,
    );
  });

  test('tier 0: only Prometheus and Alertmanager publish ports, on the loopback, and Prometheus keeps 30 days', () => {
    const compose = parse(renderCompose(singleNodeProps(dev))) as {
      services: Record<string, { ports?: string[]; command?: string[]; image: string }>;
    };
    for (const name of ['prometheus', 'alertmanager', 'node-exporter', 'postgres-exporter', 'valkey-exporter']) {
      assert.ok(compose.services[name], `no ${name} service`);
      assert.match(compose.services[name].image, /:v\d+\.\d+\.\d+$/, `${name} is pinned by tag`);
    }
    assert.deepEqual(compose.services.prometheus!.ports, ['127.0.0.1:9091:9090']);
    assert.deepEqual(compose.services.alertmanager!.ports, ['127.0.0.1:9093:9093']);
    for (const name of ['node-exporter', 'postgres-exporter', 'valkey-exporter']) {
      assert.equal(compose.services[name]!.ports, undefined, `${name} publishes a port`);
    }
    assert.ok(compose.services.prometheus!.command!.includes('--storage.tsdb.retention.time=30d'));
  });

  test('tier 1: exporters listen on the private address, Prometheus and Alertmanager on the loopback', () => {
    const defaults = (server: Record<string, any>, name: string) =>
      writtenFiles(server)[`/etc/ringforge/monitoring/default-${name}`] ?? '';
    for (const role of ['hub', 'postgres', 'valkey']) {
      for (const server of serversOf(tier1Infra, role)) {
        const ip = (server.network as { ip: string }[])[0]!.ip;
        assert.match(defaults(server, 'node-exporter'), new RegExp(`--web.listen-address=${ip}:9100 `), role);
      }
    }
    for (const server of serversOf(tier1Infra, 'postgres')) {
      const ip = (server.network as { ip: string }[])[0]!.ip;
      assert.match(defaults(server, 'postgres-exporter'), new RegExp(`--web.listen-address=${ip}:9187 `));
    }
    for (const server of serversOf(tier1Infra, 'valkey')) {
      const ip = (server.network as { ip: string }[])[0]!.ip;
      assert.match(defaults(server, 'redis-exporter'), new RegExp(`--web.listen-address=${ip}:9121 `));
      assert.doesNotMatch(defaults(server, 'redis-exporter'), /password/i, 'the Valkey password is not a flag');
    }
    assert.match(
      defaults(tier1Monitor, 'prometheus'),
      /--web\.listen-address=127\.0\.0\.1:9090 --storage\.tsdb\.retention\.time=30d/,
    );
    assert.match(
      defaults(tier1Monitor, 'alertmanager'),
      /--web\.listen-address=127\.0\.0\.1:9093 --cluster\.listen-address="/,
    );
    const targets = (
      parse(tier1Files['/etc/ringforge/monitoring/prometheus.yml']!) as {
        scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      }
    ).scrape_configs;
    const count = (job: string) => targets.find((t) => t.job_name === job)!.static_configs[0]!.targets.length;
    const servers = tier1.servers;
    assert.equal(count('hub'), servers.hub!.count);
    assert.equal(count('postgres'), servers.postgres!.count);
    assert.equal(count('valkey'), servers.valkey!.count);
    assert.equal(count('node'), servers.hub!.count + servers.postgres!.count + servers.valkey!.count);
  });

  test('user data of every tier 0-1 server stays under Hetzner’s 32 KiB', () => {
    const devInfra = Object.entries(synthEnvironment(dev)).find(([name]) => name.endsWith('-infra'))![1];
    for (const [env, doc] of [
      ['dev', devInfra],
      ['tier 1', tier1Infra],
    ] as const) {
      for (const role of ['single', 'hub', 'postgres', 'valkey']) {
        for (const server of serversOf(doc, role)) {
          const bytes = Buffer.byteLength(server.user_data as string);
          assert.ok(bytes < USER_DATA_LIMIT, `${env} ${role}: ${bytes} bytes of user data`);
        }
      }
    }
  });

  test('the base backup leaves its outcome in a textfile the node exporter can read', () => {
    const textfiles = scratchDir('tiers01-textfile');
    const script = join(textfiles, 'backup-metric.sh');
    writeFileSync(script, backupMetricScript(textfiles), { mode: 0o755 });
    const record = (result: string) => {
      const run = spawnSync(script, [], { env: { ...process.env, SERVICE_RESULT: result }, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      return readFileSync(join(textfiles, 'ringforge_backup.prom'), 'utf8');
    };
    const before = Math.floor(Date.now() / 1000);
    record('success');
    record('exit-code');
    const text = record('success');
    const samples = text.split('\n').filter((line) => /^\w/.test(line));
    assert.equal(samples.length, 2, text);
    for (const metric of [BACKUP_METRICS.success, BACKUP_METRICS.failure]) {
      const value = Number(new RegExp(`^${metric} (\\d+)$`, 'm').exec(text)?.[1]);
      assert.ok(value >= before && value <= Date.now() / 1000 + 1, `${metric}: ${text}`);
    }
    // promtool check metrics reads the exposition from stdin.
    const lint = spawnSync(tool('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
    assert.equal(lint.status, 0, `${lint.stdout}${lint.stderr}`);
    rmSync(textfiles, { recursive: true, force: true });
  });
});
