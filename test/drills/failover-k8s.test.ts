/* What the k8s failover target would do, proven without a cluster (--dry-run). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadEnvironment } from '../../environments/index.ts';
import { chooseTargets, k8sFailoverPlan } from '../../runbooks/failover/k8s.ts';
import { repoRoot } from '../../scripts/lib/tools.ts';

const staging = loadEnvironment('staging');
const prod = loadEnvironment('prod');

const drill = (args: readonly string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'runbooks/drill.ts', 'failover', '--target', 'k8s', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env,
  });

describe('failover drill, k8s target', () => {
  it('checks, deletes a hub pod, drains the node of another and uncordons it, in that order', () => {
    const plan = k8sFailoverPlan({ env: staging, runId: 'f1' });
    assert.deepEqual(
      plan.steps.map((s) => s.command.join(' ')),
      [
        'kubectl config current-context',
        'kubectl get nodes --output jsonpath={.items[*].metadata.labels.topology\\.kubernetes\\.io/region}',
        'kubectl get namespace ringforge --output name',
        'kubectl --namespace ringforge get deployment/hub --output jsonpath={.status.readyReplicas}',
        'kubectl --namespace ringforge get poddisruptionbudget/hub --output name',
        'kubectl --namespace ringforge get pods --selector app.kubernetes.io/name=hub,app.kubernetes.io/instance=hub --field-selector status.phase=Running --output jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{"\\n"}{end}',
        'kubectl --namespace ringforge delete pod <hub-pod> --wait=false',
        'kubectl --namespace ringforge rollout status deployment/hub --timeout=300s',
        'kubectl cordon <node-of-another-hub-pod>',
        'kubectl drain <node-of-another-hub-pod> --ignore-daemonsets --delete-emptydir-data --timeout=300s',
        'kubectl --namespace ringforge rollout status deployment/hub --timeout=300s',
        'kubectl uncordon <node-of-another-hub-pod>',
      ],
    );
    assert.equal(plan.location, 'nbg1');
    assert.equal(plan.load.url, 'wss://hub.staging.ringforge.example/ws');
    assert.equal(plan.load.adminUrl, 'http://127.0.0.1:9090');
  });

  it('picks the first region of prod by default, and the one --region names', () => {
    assert.equal(k8sFailoverPlan({ env: prod, runId: 'p' }).location, 'fsn1');
    const hel1 = k8sFailoverPlan({
      env: prod,
      runId: 'p',
      region: 'hel1',
      targetUrl: 'wss://hel1.example/ws',
      adminUrl: 'http://127.0.0.1:19090',
    });
    assert.equal(hel1.location, 'hel1');
    assert.match(hel1.title, /prod region hel1/);
    assert.equal(hel1.load.adminUrl, 'http://127.0.0.1:19090');
  });

  it('refuses a laptop environment and an unknown region, naming the field', () => {
    assert.throws(
      () => k8sFailoverPlan({ env: loadEnvironment('local'), runId: 'x' }),
      /environments\/local\.ts: tier is 0 \(platform laptop\); the failover k8s target needs tier 2 or 3/,
    );
    assert.throws(
      () => k8sFailoverPlan({ env: prod, runId: 'x', region: 'nbg9' }),
      /--region: environments\/prod\.ts regions are fsn1, hel1 \(got nbg9\)/,
    );
    const run = drill(['--env', 'local', '--dry-run']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /tier is 0/);
  });

  it('deletes the first hub pod and drains the node of a hub pod on another node', () => {
    assert.deepEqual(chooseTargets('hub-a n1\nhub-b n1\nhub-c n2\n'), { pod: 'hub-a', node: 'n2' });
    assert.throws(() => chooseTargets('hub-a n1\nhub-b n1\n'), /at least 2 nodes .*hub-a on n1, hub-b on n1/);
  });

  it('prints every command and the load with --dry-run, never the admin token', () => {
    const token = 'drill-secret-token-4b1f9c';
    const run = drill(['--env', 'prod', '--region', 'hel1', '--dry-run'], { ...process.env, HUB_ADMIN_TOKEN: token });
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /## 7\. delete-pod[^\n]*\n\$ kubectl --namespace ringforge delete pod <hub-pod> --wait=false/,
    );
    assert.match(run.stdout, /\$ kubectl drain <node-of-another-hub-pod> --ignore-daemonsets --delete-emptydir-data/);
    assert.match(run.stdout, /agents: 6 connecting to wss:\/\/hub\.ringforge\.example\/ws/);
    assert.match(run.stdout, /with HUB_ADMIN_TOKEN from the environment/);
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(token));
  });
});
