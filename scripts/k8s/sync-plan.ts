/*
 * What ArgoCD would apply for one cluster folder, in the order it would apply it: the cluster's
 * applications.yaml lists one Application per folder; Applications sync by wave, and inside a
 * folder objects sync by their own wave, then by kind (namespaces first, workloads after their
 * config, custom resources last), then by name — the order of ArgoCD's gitops-engine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    finalizers?: string[];
  };
  [field: string]: unknown;
}

export interface FolderSync {
  /** The Application's name (e.g. `hub`). */
  readonly app: string;
  readonly wave: number;
  /** The Application's destination namespace: objects without one land there. */
  readonly namespace: string;
  /** Repository-relative folder, e.g. `dist/k8s/staging/hub`. */
  readonly path: string;
  readonly objects: readonly KubeObject[];
}

export interface ChartApp {
  readonly app: string;
  readonly wave: number;
  readonly chart: string;
  readonly version: string;
}

export interface SyncPlan {
  /** The Applications themselves, applied to the argocd namespace as the root Application would. */
  readonly applications: readonly KubeObject[];
  /** In-repository folders, in sync order. */
  readonly folders: readonly FolderSync[];
  /** Helm chart Applications: third-party controllers installed from their own repositories. */
  readonly charts: readonly ChartApp[];
}

const WAVE = 'argocd.argoproj.io/sync-wave';

/** gitops-engine's kind order; kinds not listed (custom resources among them) come after these. */
const KIND_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
];

export const waveOf = (object: KubeObject): number => {
  const raw = object.metadata.annotations?.[WAVE] ?? '0';
  const wave = Number(raw);
  if (!Number.isInteger(wave)) {
    throw new Error(`${object.kind}/${object.metadata.name}: annotation ${WAVE} must be an integer (got "${raw}")`);
  }
  return wave;
};

const kindRank = (kind: string) => {
  const rank = KIND_ORDER.indexOf(kind);
  return rank === -1 ? KIND_ORDER.length : rank;
};

/** Sorts objects the way ArgoCD applies them within one sync: wave, kind, name. */
export function syncOrder<T extends KubeObject>(objects: readonly T[]): T[] {
  return [...objects].sort(
    (a, b) =>
      waveOf(a) - waveOf(b) ||
      kindRank(a.kind) - kindRank(b.kind) ||
      a.kind.localeCompare(b.kind) ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

export function readManifests(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

interface ApplicationSpec {
  destination: { namespace: string };
  source: { path?: string; chart?: string; targetRevision: string };
}

/** The sync plan of the cluster folder `dist/k8s/<env>[/<region>]`, read from disk as ArgoCD reads git. */
export function readSyncPlan(repoRoot: string, clusterDir: string): SyncPlan {
  const applications = readManifests(join(clusterDir, 'applications.yaml'));
  const folders: FolderSync[] = [];
  const charts: ChartApp[] = [];
  for (const application of syncOrder(applications)) {
    const spec = application.spec as ApplicationSpec;
    const app = application.metadata.name;
    const wave = waveOf(application);
    if (spec.source.chart !== undefined) {
      charts.push({ app, wave, chart: spec.source.chart, version: spec.source.targetRevision });
      continue;
    }
    const path = spec.source.path;
    if (path === undefined) throw new Error(`Application ${app}: spec.source has neither a path nor a chart`);
    const dir = join(repoRoot, path);
    const objects = readdirSync(dir)
      .filter((name) => name.endsWith('.yaml'))
      .sort()
      .flatMap((name) => readManifests(join(dir, name)));
    folders.push({
      app,
      wave,
      namespace: spec.destination.namespace,
      path: relative(repoRoot, dir),
      objects: syncOrder(objects),
    });
  }
  return { applications, folders, charts };
}
