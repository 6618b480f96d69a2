import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { alertmanagerConfig, kubernetesSecretFile } from '../../constructs/monitoring/alertmanager.ts';
import { loadHetznerEnvironments } from '../../environments/index.ts';
import { freePort } from '../../scripts/lib/local-services.ts';
import { tool } from '../../scripts/lib/tools.ts';
import { scratchDir } from './promtool.ts';

type Labels = Record<string, string>;
type AlertStatus = { labels: Labels; status: { state: string; inhibitedBy: string[] } };

/*
 * A real Alertmanager on loopback with prod's routes and inhibition rules, given alerts through its
 * API: which ones it suppresses is what an on-call engineer would (not) be paged for. The receivers
 * keep their names but lose their integrations, so nothing leaves the machine.
 */
describe('inhibition in a running Alertmanager', () => {
  const dir = scratchDir('inhibition');
  let server: ChildProcess;
  let url: string;

  before(async () => {
    const prod = loadHetznerEnvironments().find((e) => e.name === 'prod')!;
    const config = alertmanagerConfig(prod.alerting, kubernetesSecretFile);
    const receivers = (config.receivers as { name: string }[]).map(({ name }) => ({ name }));
    const file = join(dir, 'alertmanager.yaml');
    writeFileSync(file, stringify({ ...config, receivers }));
    mkdirSync(join(dir, 'data'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(
      tool('alertmanager'),
      [
        `--config.file=${file}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; ; i++) {
      const ready = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      assert.ok(i < 100 && server.exitCode === null, 'Alertmanager did not become ready within 10 s');
      await sleep(100);
    }
  });
  after(() => {
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends the alerts, then returns each one's state by alertname (alerts of one test share an environment). */
  async function send(environment: string, alerts: Labels[]): Promise<Record<string, string>> {
    const body = alerts.map((labels) => ({ labels: { environment, ...labels }, annotations: { summary: 'test' } }));
    const posted = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(posted.status, 200, await posted.text());
    const all = (await (await fetch(`${url}/api/v2/alerts`)).json()) as AlertStatus[];
    return Object.fromEntries(
      all
        .filter((a) => a.labels.environment === environment)
        .map((a) => [`${a.labels.alertname}/${a.labels.region}/${a.labels.severity}`, a.status.state]),
    );
  }

  test('a region that is down silences the alerts of its parts, not those of another region', async () => {
    const states = await send('region-case', [
      { alertname: 'RingforgeRegionDown', region: 'fsn1', severity: 'critical', component: 'region' },
      { alertname: 'RingforgeHubDown', region: 'fsn1', severity: 'critical', component: 'hub' },
      { alertname: 'RingforgeWalArchivingFailing', region: 'fsn1', severity: 'critical', component: 'postgres' },
      { alertname: 'KubeNodeNotReady', region: 'fsn1', severity: 'warning' },
      { alertname: 'RingforgeReplicaStalled', region: 'hel1', severity: 'critical', component: 'postgres' },
    ]);
    assert.deepEqual(states, {
      'RingforgeRegionDown/fsn1/critical': 'active',
      'RingforgeHubDown/fsn1/critical': 'suppressed',
      'RingforgeWalArchivingFailing/fsn1/critical': 'suppressed',
      'KubeNodeNotReady/fsn1/warning': 'suppressed',
      'RingforgeReplicaStalled/hel1/critical': 'active',
    });
  });

  test("a hub that is down silences the hub's and the SLOs' alerts, not the database's", async () => {
    const states = await send('hub-case', [
      { alertname: 'RingforgeHubDown', region: 'fsn1', severity: 'critical', component: 'hub' },
      { alertname: 'RingforgeHub5xxRateHigh', region: 'fsn1', severity: 'warning', component: 'hub' },
      { alertname: 'RingforgeAvailabilityBudgetBurnFast', region: 'fsn1', severity: 'critical', component: 'slo' },
      { alertname: 'RingforgeBackupFailed', region: 'fsn1', severity: 'warning', component: 'postgres' },
    ]);
    assert.deepEqual(states, {
      'RingforgeHubDown/fsn1/critical': 'active',
      'RingforgeHub5xxRateHigh/fsn1/warning': 'suppressed',
      'RingforgeAvailabilityBudgetBurnFast/fsn1/critical': 'suppressed',
      'RingforgeBackupFailed/fsn1/warning': 'active',
    });
  });

  test('a critical alert silences its warning twin', async () => {
    const states = await send('twin-case', [
      { alertname: 'KubePersistentVolumeFillingUp', region: 'hel1', severity: 'critical' },
      { alertname: 'KubePersistentVolumeFillingUp', region: 'hel1', severity: 'warning' },
      { alertname: 'KubeCPUOvercommit', region: 'hel1', severity: 'warning' },
    ]);
    assert.deepEqual(states, {
      'KubePersistentVolumeFillingUp/hel1/critical': 'active',
      'KubePersistentVolumeFillingUp/hel1/warning': 'suppressed',
      'KubeCPUOvercommit/hel1/warning': 'active',
    });
  });
});
