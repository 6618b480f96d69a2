/*
 * Needs the test cluster: `npm run test:cluster` starts it (`npm run cluster -- up`) and runs these.
 * A manifest the API server refuses must stop k8s:verify at its dry run with the server's message.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { clusterAccess } from '../../scripts/k8s/cluster-access.ts';
import { Kubectl } from '../../scripts/k8s/kubectl.ts';
import { verifyCluster } from '../../scripts/k8s/verify.ts';
import { repoRoot } from '../../scripts/lib/tools.ts';

const access = clusterAccess();
const kubectl = new Kubectl(access.kubectl, access.kubeconfig);
const copies: string[] = [];
after(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A copy of dist/k8s/staging with one file edited; returns the copy's root. */
function brokenStaging(file: string, edit: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), 'rf-k8s-broken-'));
  copies.push(root);
  cpSync(join(repoRoot, 'dist/k8s/staging'), join(root, 'dist/k8s/staging'), { recursive: true });
  const path = join(root, 'dist/k8s/staging', file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  assert.notEqual(after, before, `the edit changed nothing in ${file}`);
  writeFileSync(path, after);
  return root;
}

async function verifyBroken(root: string) {
  const lines: string[] = [];
  const report = await verifyCluster(kubectl, 'staging', join(root, 'dist/k8s/staging'), (l) => lines.push(l), root);
  assert.equal(report.passed, false, 'k8s:verify passed a manifest the API server should refuse');
  assert.ok(!('sync-hub' in report.seconds), 'nothing is synced after a failed dry run');
  assert.ok(lines.some((l) => l.includes('server-side dry run') && l.includes('failed')));
  return report.failures.join('\n');
}

describe('k8s:verify against the API server', { timeout: 600_000 }, () => {
  it("fails on an unknown field with the server's strict field validation message", async () => {
    const root = brokenStaging('hub/deployment-ringforge-hub.yaml', (t) =>
      t.replace('  progressDeadlineSeconds: 600\n', '  progressDeadlineSeconds: 600\n  progressDeadlineSecond: 600\n'),
    );
    assert.match(await verifyBroken(root), /\.spec\.progressDeadlineSecond: field not declared in schema/);
  });

  it("fails on a wrong type with the server's message", async () => {
    const root = brokenStaging('valkey/statefulset-ringforge-data-valkey.yaml', (t) =>
      t.replace(/^ {2}replicas: \d+$/m, '  replicas: two'),
    );
    assert.match(await verifyBroken(root), /replicas.*(expected|must be).*(integer|int)/i);
  });

  // Admission checks pods, not the Deployment: the dry run passes with a warning, and the rollout
  // fails on the ReplicaSet's FailedCreate, with the admission's message.
  it('fails on a pod that breaks Pod Security "restricted" with the admission message', async () => {
    const root = brokenStaging('hub/deployment-ringforge-hub.yaml', (t) =>
      t.replace(/allowPrivilegeEscalation: false/, 'allowPrivilegeEscalation: true'),
    );
    const lines: string[] = [];
    const report = await verifyCluster(kubectl, 'staging', join(root, 'dist/k8s/staging'), (l) => lines.push(l), root);
    assert.equal(report.passed, false);
    assert.match(
      report.failures.join('\n'),
      /deployment\/hub in ringforge cannot create its pods: .*violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
    assert.ok(report.warnings.some((w) => w.includes('would violate PodSecurity "restricted:latest"')));
    assert.ok(lines.some((l) => l.includes('sync hub') && l.includes('failed')));
  });
});
