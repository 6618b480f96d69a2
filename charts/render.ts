import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { DEFAULT_SUBNET_RANGE } from '../constructs/hetzner/private-network.ts';
import { AppSource, ArgoApplication } from '../constructs/k8s/argocd.ts';
import { PlatformOperators } from '../constructs/k8s/platform.ts';
import type { HetznerEnvironment } from '../environments/index.ts';
import { renderCluster } from './apps.ts';
import { clusterTargets, type ClusterTarget } from './clusters.ts';
import { LOADTEST_APP, loadtestChart } from './loadtest.ts';
import { checkK8sPolicy } from './policy/k8s-policy.ts';

/** A Kubernetes object as synthesized: plain JSON. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
};

/** One folder of dist/k8s: an app's manifests, or (app `applications`) a cluster's app-of-apps. */
export interface RenderedApp {
  readonly env: string;
  /** The cluster's folder (its bootstrap root Application's path), e.g. `dist/k8s/prod/fsn1`. */
  readonly cluster: string;
  /** Folder relative to the repository, e.g. `dist/k8s/prod/fsn1/hub`. */
  readonly dir: string;
  readonly app: string;
  readonly objects: readonly Manifest[];
}

/** Name of the app-of-apps "app": the child Applications in the cluster's root folder. */
export const APP_OF_APPS = 'applications';

// Operators and CRDs sort first so a human reading a folder sees them in apply order.
const KIND_ORDER = ['Namespace', 'PriorityClass', 'ServiceAccount', 'ConfigMap', 'Secret', 'Service'];
const rank = (kind: string) => (KIND_ORDER.includes(kind) ? KIND_ORDER.indexOf(kind) : KIND_ORDER.length);
const waveOf = (m: Manifest) =>
  Number((m.metadata.annotations as Record<string, string> | undefined)?.['argocd.argoproj.io/sync-wave'] ?? 0);

function sorted(objects: Manifest[]): Manifest[] {
  return [...objects].sort(
    (a, b) =>
      waveOf(a) - waveOf(b) ||
      rank(a.kind) - rank(b.kind) ||
      a.kind.localeCompare(b.kind) ||
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

const manifestsOf = (chart: Chart) => sorted(chart.toJson() as Manifest[]);

function renderTarget(t: ClusterTarget): RenderedApp[] {
  const apps = renderCluster(t);
  const gitops = new Chart(new App(), APP_OF_APPS);
  new PlatformOperators(gitops, 'Platform', {
    loadBalancerName: t.loadBalancerName,
    loadBalancerPrivateRange: DEFAULT_SUBNET_RANGE,
    location: t.region.location,
    alerting: t.env.alerting,
    externalLabels: { environment: t.env.name, region: t.region.name },
  });
  for (const a of apps) {
    new ArgoApplication(gitops, a.app, {
      name: a.app,
      source: AppSource.directory(t.env.gitops.repoUrl, t.env.gitops.revision, `${t.gitopsPath}/${a.app}`),
      destinationNamespace: a.namespace,
      syncWave: a.syncWave,
      ignoreDifferences: a.ignoreDifferences ?? [],
      ownsData: a.ownsData ?? false,
    });
  }
  // Beside the apps, but without an Application: nothing syncs it, an operator applies it.
  const loadtest = loadtestChart(new App(), t);
  return [
    { env: t.env.name, cluster: t.gitopsPath, dir: t.gitopsPath, app: APP_OF_APPS, objects: manifestsOf(gitops) },
    ...[...apps, { app: LOADTEST_APP, chart: loadtest }].map((a) => ({
      env: t.env.name,
      cluster: t.gitopsPath,
      dir: `${t.gitopsPath}/${a.app}`,
      app: a.app,
      objects: manifestsOf(a.chart),
    })),
  ];
}

/** Policy violations of every cluster, each checked with all the objects it receives. */
export function checkRenderedPolicy(rendered: readonly RenderedApp[]): string[] {
  const clusters = [...new Set(rendered.map((r) => r.cluster))];
  return clusters.flatMap((cluster) =>
    checkK8sPolicy(rendered.filter((r) => r.cluster === cluster).flatMap((r) => r.objects)).map(
      (v) => `${cluster}: ${v.rule} ${v.kind} ${v.namespace}/${v.name}: ${v.message}`,
    ),
  );
}

/** Every chart of every cluster of the environments on Kubernetes tiers. */
export const renderK8s = (envs: readonly HetznerEnvironment[]): RenderedApp[] =>
  envs.flatMap(clusterTargets).flatMap(renderTarget);

const fileName = (m: Manifest) =>
  [m.kind, m.metadata.namespace, m.metadata.name]
    .filter(Boolean)
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-');

/**
 * The files of one rendered app, by path relative to the repository. An app's objects get one file
 * each (reviewable diffs); the app-of-apps is a single file, as the bootstrap root Application reads
 * only the top level of the cluster's folder.
 */
export function filesOf(r: RenderedApp): Record<string, string> {
  const yaml = (m: Manifest) => stringify(m, { lineWidth: 0, sortMapEntries: true });
  if (r.app === APP_OF_APPS) return { [`${r.dir}/${APP_OF_APPS}.yaml`]: r.objects.map(yaml).join('---\n') };
  const files: Record<string, string> = {};
  for (const m of r.objects) {
    const path = `${r.dir}/${fileName(m)}.yaml`;
    if (path in files) throw new Error(`two objects of ${r.dir} map to ${path}`);
    files[path] = yaml(m);
  }
  return files;
}
