/* What the k8s and vm restore targets would do, proven without a cluster or a server (--dry-run). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadEnvironment } from '../../environments/index.ts';
import { k8sRestorePlan, recoveryManifests } from '../../runbooks/restore/k8s.ts';
import { vmRestorePlan } from '../../runbooks/restore/vm.ts';
import { K8sSchemaValidator } from '../../scripts/lib/k8s-schemas.ts';
import { repoRoot } from '../../scripts/lib/tools.ts';

const staging = loadEnvironment('staging');
const prod = loadEnvironment('prod');
const dev = loadEnvironment('dev');

describe('restore drill, k8s target', () => {
  it('builds a recovery Cluster and its ObjectStore that are valid against the CloudNativePG CRDs', async () => {
    const { manifests } = recoveryManifests({ env: prod, runId: '20250101', targetTime: '2025-01-01T12:00:00Z' });
    assert.deepEqual(await new K8sSchemaValidator().validate(manifests), []);
  });

  it('bootstraps from the production object store through the Barman Cloud plugin, to the target time', () => {
    const { manifests } = recoveryManifests({ env: staging, runId: 'x1', targetTime: '2025-01-01T12:00:00Z' });
    const store = manifests.find((m) => m.kind === 'ObjectStore') as any;
    const cluster = manifests.find((m) => m.kind === 'Cluster') as any;
    // staging runs in nbg1 and archives off-site, to its own bucket in fsn1.
    assert.equal(store.spec.configuration.destinationPath, 's3://ringforge-staging-backups-nbg1/staging/nbg1');
    assert.equal(store.spec.configuration.endpointURL, 'https://fsn1.your-objectstorage.com');
    assert.equal(store.spec.configuration.s3Credentials.accessKeyId.name, 'pg-backup-s3');
    assert.deepEqual(cluster.spec.bootstrap.recovery, {
      source: 'origin',
      database: 'hub',
      owner: 'hub',
      recoveryTarget: { targetTime: '2025-01-01T12:00:00Z' },
    });
    assert.deepEqual(cluster.spec.externalClusters, [
      {
        name: 'origin',
        plugin: {
          name: 'barman-cloud.cloudnative-pg.io',
          parameters: { barmanObjectName: store.metadata.name, serverName: 'pg' },
        },
      },
    ]);
    // A recovery cluster must never archive into production's folder.
    assert.equal(cluster.spec.plugins, undefined);
    assert.equal(cluster.spec.backup, undefined);
  });

  it('applies, waits, verifies against the source and deletes, in that order', () => {
    const plan = k8sRestorePlan({ env: staging, runId: 'x2' });
    assert.deepEqual(
      plan.steps.map((s) => s.name),
      ['apply', 'wait', 'recovery-point', 'verify-restored', 'verify-source', 'delete'],
    );
    assert.match(plan.steps[1]!.command.join(' '), /wait cluster\/pg-drill-x2 --for=condition=Ready --timeout=300s/);
    assert.match(plan.steps[0]!.stdin!, /kind: Cluster/);
    assert.equal(plan.steps.at(-1)!.command.includes('cluster/pg-drill-x2'), true);
  });

  it('rejects an environment without Kubernetes', () => {
    assert.throws(
      () => k8sRestorePlan({ env: dev, runId: 'x' }),
      /environments\/dev\.ts: tier is 0 \(platform hetzner\); the restore k8s target needs tier 2 or 3/,
    );
  });

  it('prints every manifest and command with --dry-run, touching nothing', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'runbooks/drill.ts', 'restore', '--target', 'k8s', '--env', 'staging', '--dry-run'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /kind: ObjectStore[\s\S]*kind: Cluster/);
    assert.match(run.stdout, /\$ kubectl --namespace ringforge-data apply --filename -/);
    assert.match(run.stdout, /\$ kubectl --namespace ringforge-data delete cluster\//);
  });
});

describe('restore drill, vm target', () => {
  const plan = vmRestorePlan({ env: dev, sshHost: 'root@192.0.2.10', runId: 'r1', targetTime: '2025-01-01T12:00:00Z' });

  it('restores the server’s barman-cloud backups into a scratch instance over SSH, then removes it', () => {
    assert.deepEqual(
      plan.steps.map((s) => s.name),
      [
        'list',
        'prepare',
        'fetch',
        'configure',
        'replay',
        'wait',
        'recovery-point',
        'verify-restored',
        'verify-source',
        'stop',
        'delete',
      ],
    );
    for (const step of plan.steps)
      assert.deepEqual(step.command.slice(0, 4), ['ssh', '-o', 'BatchMode=yes', 'root@192.0.2.10']);
    const fetch = plan.steps.find((s) => s.name === 'fetch')!.command.at(-1)!;
    assert.match(fetch, /\. \/etc\/ringforge\/secrets\/backup\.env/);
    assert.match(
      fetch,
      /barman-cloud-restore --endpoint-url https:\/\/fsn1\.your-objectstorage\.com s3:\/\/ringforge-dev-backups dev/,
    );
    const configure = plan.steps.find((s) => s.name === 'configure')!.command.at(-1)!;
    assert.match(configure, /recovery_target_time = \\'2025-01-01 12:00:00\.000\+00\\'/);
    assert.match(configure, /port = 5499/);
    assert.match(plan.steps.at(-1)!.command.at(-1)!, /rm -rf -- \/var\/lib\/postgresql\/drill-r1/);
  });

  it('never puts a credential on a command line', () => {
    assert.doesNotMatch(JSON.stringify(plan.steps), /AWS_SECRET_ACCESS_KEY=|ACCESS_SECRET_KEY=/);
  });

  it('rejects a Kubernetes tier', () => {
    assert.throws(() => vmRestorePlan({ env: staging, sshHost: 'h', runId: 'r' }), /tiers 0-1 .* use --target k8s/);
  });

  it('prints its commands with --dry-run', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'runbooks/drill.ts', 'restore', '--target', 'vm', '--env', 'dev', '--dry-run'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /## 3\. fetch/);
    assert.match(run.stdout, /\$ ssh -o BatchMode=yes <ssh-host>/);
  });
});
