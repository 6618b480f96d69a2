/*
 * The only differences between what `k8s:verify` applies and what ArgoCD would sync, each listed in
 * its report. They exist because the test cluster is two nodes on one machine, with no registry and no CloudNativePG
 * operator; nothing here is ever written to dist/.
 *
 * - Images: public images are replaced by the project's local builds of the same software, pulled
 *   IfNotPresent (there is no registry to pull from).
 * - Scheduling: `required` pod anti-affinity by hostname becomes `preferred`. Production has at least
 *   three workers; with two, draining the node of valkey-0 would leave it Pending beside valkey-1, and
 *   every hub without its Redis primary.
 * - CPU requests: a quarter of what dist/ asks, so the workloads sized for several servers all fit
 *   the test cluster's two nodes, which share one 2-core machine (limits, memory and replica counts
 *   are kept).
 * - Applications: without their resources finalizer, which only an ArgoCD controller would remove
 *   (the test cluster runs none, so deleting one would hang).
 * - Postgres: what the CloudNativePG operator would create from the `Cluster` (the `pg-rw` Service,
 *   the `pg-app` Secret and a primary pod with the same labels, so the NetworkPolicies select it),
 *   stood in by a StatefulSet on the local Postgres image. The `Cluster` itself is still applied.
 * - Autoscaling: the HorizontalPodAutoscaler KEDA would create from a `ScaledObject`, with its CPU
 *   and memory triggers (no KEDA operator; its Prometheus trigger needs KEDA's metrics server), so
 *   the hub still runs its minimum replicas. The `ScaledObject` itself is still applied.
 */
import { randomBytes } from 'node:crypto';
import type { FolderSync, KubeObject, SyncPlan } from './sync-plan.ts';

export interface LocalImages {
  /** Public repository (no tag or digest) → local image reference. */
  readonly byRepository: Readonly<Record<string, string>>;
  readonly postgres: string;
}

export interface OverlaidPlan {
  readonly plan: SyncPlan;
  /** One line per substitution, for the report. */
  readonly substitutions: readonly string[];
}

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  resources?: { requests?: Record<string, string> };
}

interface PodAntiAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: unknown[];
  preferredDuringSchedulingIgnoredDuringExecution?: unknown[];
}

/** The share of each CPU request the test node grants. */
export const CPU_REQUEST_SHARE = 0.25;

const millicores = (quantity: string) =>
  quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  affinity?: { podAntiAffinity?: PodAntiAffinity };
}

const repositoryOf = (image: string) => image.split('@')[0]!.replace(/:[^/:]+$/, '');

type PodTemplate = { template?: { spec?: PodSpec } };

/** The pod spec of a workload, a Job or a CronJob (whose pods come from its job template). */
const podSpecOf = (object: KubeObject): PodSpec | undefined => {
  const spec = object.spec as (PodTemplate & { jobTemplate?: { spec?: PodTemplate } }) | undefined;
  return (spec?.jobTemplate?.spec ?? spec)?.template?.spec;
};

const label = (object: KubeObject) => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;

export function substituteImages(object: KubeObject, images: LocalImages, notes: string[]): KubeObject {
  const copy = structuredClone(object);
  const pod = podSpecOf(copy);
  if (!pod) return copy;
  for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const local = images.byRepository[repositoryOf(container.image)];
    if (local === undefined) {
      throw new Error(
        `${label(object)}: container ${container.name} runs ${container.image}, which has no local image (known: ${Object.keys(images.byRepository).join(', ')})`,
      );
    }
    notes.push(`${label(object)} ${container.name}: image ${container.image} → ${local}, pulled IfNotPresent`);
    container.image = local;
    container.imagePullPolicy = 'IfNotPresent';
    const cpu = container.resources?.requests?.cpu;
    if (cpu !== undefined) {
      const scaled = `${Math.max(1, Math.round(millicores(cpu) * CPU_REQUEST_SHARE))}m`;
      container.resources!.requests!.cpu = scaled;
      notes.push(
        `${label(object)} ${container.name}: CPU request ${cpu} → ${scaled} (two nodes on one 2-core machine)`,
      );
    }
  }
  const anti = pod.affinity?.podAntiAffinity;
  const required = anti?.requiredDuringSchedulingIgnoredDuringExecution;
  if (anti && required) {
    anti.preferredDuringSchedulingIgnoredDuringExecution = [
      ...(anti.preferredDuringSchedulingIgnoredDuringExecution ?? []),
      ...required.map((term) => ({ weight: 100, podAffinityTerm: term })),
    ];
    delete anti.requiredDuringSchedulingIgnoredDuringExecution;
    notes.push(
      `${label(object)}: required pod anti-affinity → preferred (two nodes: a drained node's pod must fit the other)`,
    );
  }
  return copy;
}

interface CnpgCluster {
  spec: {
    bootstrap?: {
      initdb?: { database?: string; owner?: string };
      recovery?: { database?: string; owner?: string };
    };
    replica?: { enabled?: boolean; primary?: string; self?: string };
    storage?: { size?: string; storageClass?: string };
  };
}

/**
 * A replica cluster (a standby region) follows another region's primary and takes no writes: in a
 * distributed topology, one whose `replica.primary` names another cluster than `replica.self`.
 */
export function isReplicaCluster(cluster: KubeObject): boolean {
  const replica = (cluster as unknown as CnpgCluster).spec.replica;
  return replica?.enabled === true || (replica?.primary !== undefined && replica.primary !== replica.self);
}

/*
 * First start of the stand-in: initdb, the owner role and its database as CloudNativePG's bootstrap
 * makes them (the owner is not a superuser), and for a replica cluster a standby.signal: Postgres then
 * stays in recovery, read-only, as a replica cluster's primary does until it is promoted.
 */
const INIT_SCRIPT = `set -eu
[ -s "$PGDATA/PG_VERSION" ] && exit 0
initdb --username=postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 -D "$PGDATA" >/dev/null
echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
psql -v ON_ERROR_STOP=1 -U postgres -d postgres -v owner="$OWNER" -v db="$DATABASE" -v pw="$PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"owner";
SQL
pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
if [ "$STANDBY" = true ]; then touch "$PGDATA/standby.signal"; fi`;

/**
 * What CloudNativePG would create for a `Cluster`: its read-write Service, app Secret and a primary
 * (in recovery for a replica cluster; `pg_promote()` promotes it, as a switchover would).
 */
export function postgresStandIn(cluster: KubeObject, image: string): KubeObject[] {
  const { name, namespace } = cluster.metadata;
  const spec = (cluster as unknown as CnpgCluster).spec;
  const bootstrap = spec.bootstrap?.initdb ?? spec.bootstrap?.recovery;
  const database = bootstrap?.database ?? 'app';
  const owner = bootstrap?.owner ?? database;
  const password = randomBytes(24).toString('base64url');
  const host = `${name}-rw.${namespace}`;
  const labels = { 'cnpg.io/cluster': name, 'cnpg.io/instanceRole': 'primary', role: 'primary' };
  const meta = (suffix: string) => ({ name: `${name}${suffix}`, namespace, labels: { 'cnpg.io/cluster': name } });
  const uid = 999;
  const container = {
    image,
    imagePullPolicy: 'IfNotPresent',
    env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }],
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
  };
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('-app'),
      type: 'kubernetes.io/basic-auth',
      stringData: {
        username: owner,
        password,
        dbname: database,
        host: `${name}-rw`,
        port: '5432',
        uri: `postgresql://${owner}:${password}@${host}:5432/${database}`,
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('-rw'),
      spec: { selector: labels, ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('-standin'),
      spec: {
        serviceName: `${name}-rw`,
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            // OnRootMismatch: a group-writable data directory, which a recursive fsGroup change on every
            // mount would make, is one Postgres refuses to start on.
            securityContext: {
              runAsNonRoot: true,
              runAsUser: uid,
              runAsGroup: uid,
              fsGroup: uid,
              fsGroupChangePolicy: 'OnRootMismatch',
            },
            initContainers: [
              {
                ...container,
                name: 'bootstrap',
                command: ['bash', '-c', INIT_SCRIPT],
                env: [
                  ...container.env,
                  { name: 'OWNER', value: owner },
                  { name: 'DATABASE', value: database },
                  { name: 'STANDBY', value: String(isReplicaCluster(cluster)) },
                  { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: `${name}-app`, key: 'password' } } },
                ],
              },
            ],
            containers: [
              {
                ...container,
                name: 'postgres',
                ports: [{ name: 'postgres', containerPort: 5432 }],
                readinessProbe: { exec: { command: ['pg_isready', '-h', '127.0.0.1'] }, periodSeconds: 2 },
                resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1000m', memory: '1Gi' } },
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: spec.storage?.storageClass,
              resources: { requests: { storage: spec.storage?.size ?? '1Gi' } },
            },
          },
        ],
      },
    },
  ];
}

interface ScaledObjectSpec {
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: { type: string; metricType?: string; metadata: Record<string, string> }[];
  advanced?: { horizontalPodAutoscalerConfig?: { name?: string; behavior?: unknown } };
}

/** The HPA KEDA's operator would create for a ScaledObject, limited to its resource triggers. */
export function kedaHpaStandIn(scaled: KubeObject): KubeObject {
  const spec = scaled.spec as ScaledObjectSpec;
  const hpa = spec.advanced?.horizontalPodAutoscalerConfig;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: hpa?.name ?? `keda-hpa-${scaled.metadata.name}`,
      namespace: scaled.metadata.namespace,
      labels: scaled.metadata.labels,
    },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', ...spec.scaleTargetRef },
      minReplicas: spec.minReplicaCount ?? 1,
      maxReplicas: spec.maxReplicaCount ?? 100,
      metrics: spec.triggers
        .filter((t) => t.type === 'cpu' || t.type === 'memory')
        .map((t) => ({
          type: 'Resource',
          resource: { name: t.type, target: { type: 'Utilization', averageUtilization: Number(t.metadata.value) } },
        })),
      ...(hpa?.behavior ? { behavior: hpa.behavior } : {}),
    },
  };
}

function overlayFolder(folder: FolderSync, images: LocalImages, notes: string[]): FolderSync {
  const objects = folder.objects.map((object) => substituteImages(object, images, notes));
  for (const cluster of folder.objects.filter(
    (o) => o.kind === 'Cluster' && o.apiVersion.startsWith('postgresql.cnpg.io/'),
  )) {
    objects.push(...postgresStandIn(cluster, images.postgres));
    notes.push(
      `${label(cluster)}${isReplicaCluster(cluster) ? ' (replica cluster: the stand-in starts in recovery)' : ''}: stood in by ${cluster.metadata.name}-rw, ${cluster.metadata.name}-app and a StatefulSet on ${images.postgres} (no CloudNativePG operator)`,
    );
  }
  for (const scaled of folder.objects.filter((o) => o.kind === 'ScaledObject' && o.apiVersion.startsWith('keda.sh/'))) {
    objects.push(kedaHpaStandIn(scaled));
    notes.push(
      `${label(scaled)}: stood in by the HorizontalPodAutoscaler KEDA would create, on its CPU and memory triggers (no KEDA operator)`,
    );
  }
  return { ...folder, objects };
}

export function applyTestOverlay(plan: SyncPlan, images: LocalImages): OverlaidPlan {
  const substitutions: string[] = [];
  const folders = plan.folders.map((folder) => overlayFolder(folder, images, substitutions));
  const applications = plan.applications.map((application) => {
    const copy = structuredClone(application);
    delete copy.metadata.finalizers;
    return copy;
  });
  substitutions.push(`${applications.length} Applications: without their resources finalizer (no ArgoCD controller)`);
  return { plan: { ...plan, folders, applications }, substitutions };
}
