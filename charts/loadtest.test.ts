import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { HUB_PORT_NAMES } from '../constructs/k8s/hub.ts';
import { loadEnvironment, loadHetznerEnvironments, type HetznerEnvironment } from '../environments/index.ts';
import { cloudConfigOf, serversOf, synthEnvironment, writtenFile } from '../test/helpers/synth.ts';
import { LOADTEST_API_KEY_SECRET, LOADTEST_APP, LOADTEST_START_CONFIGMAP } from './loadtest.ts';
import { APP_OF_APPS, checkRenderedPolicy, renderK8s, type RenderedApp } from './render.ts';

const rendered = renderK8s(loadHetznerEnvironments());
const clusters = [...new Set(rendered.map((r) => r.cluster))];
const staging = loadEnvironment('staging') as HetznerEnvironment;
const prod = loadEnvironment('prod') as HetznerEnvironment;

const appAt = (dir: string): RenderedApp => {
  const found = rendered.find((r) => r.dir === dir);
  assert.ok(found, `nothing rendered at ${dir}`);
  return found;
};
const jobOf = (cluster: string): any => appAt(`${cluster}/${LOADTEST_APP}`).objects.find((o) => o.kind === 'Job');

/**
 * The folders ArgoCD syncs in a cluster: each directory Application syncs its path, and with
 * `recurse` everything below it too.
 */
function syncedBy(applications: readonly any[], dir: string): string[] {
  return applications
    .filter((a) => {
      const { path, directory } = a.spec.source;
      if (path === undefined) return false;
      return path === dir || (directory?.recurse !== false && dir.startsWith(`${path}/`));
    })
    .map((a) => a.metadata.name);
}

describe('load-test Job: not synced by ArgoCD', () => {
  test('no Application of any cluster syncs the loadtest folder, the root one included', () => {
    // The root Application of staging as its first control plane's cloud-init installs it.
    const bootstrap = writtenFile(
      cloudConfigOf(serversOf(synthEnvironment(staging)['staging-infra']!, 'controlPlane')[0]!),
      '/var/lib/rancher/k3s/server/manifests/ringforge-bootstrap.yaml',
    );
    const root = bootstrap
      .split('---\n')
      .map((d) => parse(d))
      .find((d) => d.kind === 'Application');
    assert.equal(root.spec.source.path, 'dist/k8s/staging');
    for (const cluster of clusters) {
      const dir = `${cluster}/${LOADTEST_APP}`;
      const children = appAt(cluster).objects;
      const rootOfCluster = { ...root, spec: { ...root.spec, source: { ...root.spec.source, path: cluster } } };
      assert.deepEqual(syncedBy([rootOfCluster, ...children], dir), [], dir);
      // The same rule finds the folders that are synced: the check can tell them apart.
      assert.deepEqual(syncedBy([rootOfCluster, ...children], `${cluster}/hub`), ['hub']);
      assert.ok(jobOf(cluster), `${dir} holds the Job`);
    }
  });

  test('its objects claim no synced Application, so no prune or self-heal touches them', () => {
    for (const cluster of clusters) {
      const synced = new Set(appAt(cluster).objects.map((a) => a.metadata.name));
      for (const o of appAt(`${cluster}/${LOADTEST_APP}`).objects) {
        const instance = (o.metadata.labels as Record<string, string> | undefined)?.['app.kubernetes.io/instance'];
        assert.ok(
          instance === undefined || !synced.has(instance),
          `${o.kind} ${o.metadata.name}: instance ${instance}`,
        );
      }
    }
  });
});

describe('load-test Job: what it runs', () => {
  test('an Indexed Job of the environment parallelism, no retries, cleaned up after a day', () => {
    for (const cluster of clusters) {
      const env = cluster.startsWith('dist/k8s/prod') ? prod : staging;
      const { spec } = jobOf(cluster);
      assert.equal(spec.completionMode, 'Indexed');
      assert.equal(spec.parallelism, env.loadtest.parallelism);
      assert.equal(spec.completions, env.loadtest.parallelism);
      assert.equal(spec.backoffLimit, 0);
      assert.equal(spec.ttlSecondsAfterFinished, 86400);
      assert.ok(spec.activeDeadlineSeconds > 10 * 60, 'outlasts the longest wait for the shared start');
    }
  });

  test('the runner from the hub image, its slice count, shared start and key by reference, the in-cluster Service', () => {
    const pod = jobOf('dist/k8s/staging').spec.template.spec;
    const [runner] = pod.containers;
    assert.equal(runner.image, `${staging.hub.image.repository}@${staging.hub.image.digest}`);
    assert.deepEqual(runner.command, ['node', '/app/loadtest.mjs']);
    assert.deepEqual(runner.args, [
      'fanout',
      ...['--env', 'staging', '--profile', 'full', '--target', 'ws://hub.ringforge.svc:8080/ws', '--out', '/results'],
      '--print-run',
    ]);
    assert.deepEqual(runner.env, [
      { name: 'LOADTEST_PARALLELISM', value: String(staging.loadtest.parallelism) },
      {
        name: 'LOADTEST_START_AT',
        valueFrom: { configMapKeyRef: { name: LOADTEST_START_CONFIGMAP, key: 'start-at' } },
      },
      { name: 'LOADTEST_API_KEY', valueFrom: { secretKeyRef: { name: LOADTEST_API_KEY_SECRET, key: 'key' } } },
    ]);
    assert.deepEqual(runner.volumeMounts, [{ name: 'results', mountPath: '/results' }]);
    assert.equal(pod.restartPolicy, 'Never');
    // Production's Job confirms: applying it by hand is the operator's --yes.
    assert.ok(jobOf('dist/k8s/prod/fsn1').spec.template.spec.containers[0].args.includes('--yes'));
    assert.ok(!runner.args.includes('--yes'));
  });

  test('the target is the hub Service of the same cluster, on its public port, and policies let the runners in', () => {
    for (const cluster of clusters) {
      const hubService = appAt(`${cluster}/hub`).objects.find(
        (o) => o.kind === 'Service' && o.metadata.name === 'hub',
      )!;
      const port = (hubService as any).spec.ports.find((p: any) => p.name === HUB_PORT_NAMES.public).port;
      assert.ok(jobOf(cluster).spec.template.spec.containers[0].args.includes(`ws://hub.ringforge.svc:${port}/ws`));
      const policies = appAt(`${cluster}/${LOADTEST_APP}`).objects.filter((o) => o.kind === 'NetworkPolicy') as any[];
      assert.deepEqual(
        policies.map((p) => [p.metadata.name, p.spec.policyTypes, (p.spec.ingress ?? p.spec.egress)[0].ports[0].port]),
        [
          ['hub-from-loadtest', ['Ingress'], port],
          ['loadtest', ['Egress'], port],
        ],
      );
    }
  });

  test("passes the cluster's policy checklist (restricted pods, resources, priority, network policies)", () => {
    assert.deepEqual(checkRenderedPolicy(rendered), []);
    const pod = jobOf('dist/k8s/staging').spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.priorityClassName, 'ringforge-loadtest');
    assert.ok(rendered.some((r) => r.app === APP_OF_APPS));
  });
});
