import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../lib/tools.ts';
import { releasedImage } from '../../environments/images.ts';
import { hubRepositories } from './cluster-access.ts';
import { readSyncPlan, syncOrder, type KubeObject } from './sync-plan.ts';
import { applyTestOverlay } from './test-overlay.ts';

const object = (kind: string, name: string, wave?: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, ...(wave === undefined ? {} : { annotations: { 'argocd.argoproj.io/sync-wave': wave } }) },
});

const staging = () => readSyncPlan(repoRoot, join(repoRoot, 'dist/k8s/staging'));

const images = {
  byRepository: {
    ...hubRepositories('localhost/ringforge/hub:test'),
    'docker.io/valkey/valkey': 'localhost/ringforge/valkey:test',
    'docker.io/oliver006/redis_exporter': 'localhost/ringforge/redis-exporter:test',
    'docker.io/curlimages/curl': 'localhost/ringforge/valkey:test',
  },
  postgres: 'localhost/ringforge/postgres:test',
};

describe('sync plan', () => {
  it('orders objects by wave, then kind as ArgoCD does, then name', () => {
    const ordered = syncOrder([
      object('Deployment', 'a'),
      object('ServiceMonitor', 'a'),
      object('Service', 'b'),
      object('Namespace', 'z'),
      object('ConfigMap', 'late', '1'),
      object('Service', 'a'),
    ]);
    assert.deepEqual(
      ordered.map((o) => `${o.kind}/${o.metadata.name}`),
      ['Namespace/z', 'Service/a', 'Service/b', 'Deployment/a', 'ServiceMonitor/a', 'ConfigMap/late'],
    );
  });

  it('refuses a wave that is not an integer, naming the object', () => {
    assert.throws(
      () => syncOrder([object('Service', 'x', 'soon'), object('Service', 'y')]),
      /Service\/x: .*sync-wave must be an integer \(got "soon"\)/,
    );
  });

  it("reads the staging folders in the Applications' wave order", () => {
    const plan = staging();
    const waves = plan.folders.map((f) => f.wave);
    assert.deepEqual(
      waves,
      [...waves].sort((a, b) => a - b),
    );
    const apps = plan.folders.map((f) => f.app);
    assert.ok(apps.indexOf('base') < apps.indexOf('postgres'));
    assert.ok(apps.indexOf('valkey') < apps.indexOf('hub'));
    assert.equal(plan.folders.find((f) => f.app === 'base')!.objects[0]!.kind, 'Namespace');
    assert.ok(plan.charts.some((c) => c.chart === 'cloudnative-pg'));
  });
});

describe('test overlay', () => {
  it('runs every container on a local image, pulled IfNotPresent, without touching the plan it was given', () => {
    const plan = staging();
    const before = JSON.stringify(plan);
    const { plan: overlaid, substitutions } = applyTestOverlay(plan, images);
    assert.equal(JSON.stringify(plan), before);
    const containers = overlaid.folders
      .flatMap((f) => f.objects)
      .flatMap(
        (o) => ((o.spec as any)?.template?.spec?.containers ?? []) as { image: string; imagePullPolicy: string }[],
      );
    assert.ok(containers.length > 0);
    for (const c of containers) {
      assert.match(c.image, /^localhost\/ringforge\//);
      assert.equal(c.imagePullPolicy, 'IfNotPresent');
    }
    const staged = releasedImage('staging');
    assert.ok(substitutions.some((s) => s.includes(`${staged.repository}@${staged.digest}`)));
  });

  it('stands in for the CloudNativePG operator with the Service, Secret and labels it would create', () => {
    const postgres = applyTestOverlay(staging(), images).plan.folders.find((f) => f.app === 'postgres')!;
    const byKind = (kind: string) => postgres.objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    assert.deepEqual(byKind('Cluster'), ['pg']);
    assert.deepEqual(byKind('Service'), ['pg-rw']);
    assert.deepEqual(byKind('Secret'), ['pg-app']);
    const secret = postgres.objects.find((o) => o.kind === 'Secret')! as unknown as {
      stringData: Record<string, string>;
    };
    assert.match(secret.stringData.uri!, /^postgresql:\/\/hub:[^@]+@pg-rw\.ringforge-data:5432\/hub$/);
  });

  it("stands in for KEDA's operator with the HPA it would create from the hub's ScaledObject", () => {
    const hub = applyTestOverlay(staging(), images).plan.folders.find((f) => f.app === 'hub')!;
    const scaled = hub.objects.find((o) => o.kind === 'ScaledObject')!.spec as any;
    const hpa = hub.objects.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
    assert.equal(hpa.metadata.name, 'hub');
    assert.deepEqual((hpa.spec as any).scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hub' });
    assert.equal((hpa.spec as any).minReplicas, scaled.minReplicaCount);
    assert.equal((hpa.spec as any).maxReplicas, scaled.maxReplicaCount);
    assert.deepEqual(
      (hpa.spec as any).metrics.map((m: any) => [m.resource.name, m.resource.target.averageUtilization]),
      [
        ['cpu', 70],
        ['memory', 80],
      ],
    );
    assert.deepEqual((hpa.spec as any).behavior, scaled.advanced.horizontalPodAutoscalerConfig.behavior);
  });

  it('refuses a container whose image has no local stand-in', () => {
    const partial = { ...images, byRepository: hubRepositories('localhost/ringforge/hub:test') };
    assert.throws(
      () => applyTestOverlay(staging(), partial),
      /StatefulSet\/ringforge-data\/valkey: container valkey runs docker\.io\/valkey\/valkey:[\d.]+, which has no local image/,
    );
  });
});
