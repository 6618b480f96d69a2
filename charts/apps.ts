import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { HUB_PORT_NAMES, HubWorkload } from '../constructs/k8s/hub.ts';
import { appLabels } from '../constructs/k8s/labels.ts';
import { RestrictedNamespace } from '../constructs/k8s/namespace.ts';
import { AllowTraffic, Peer } from '../constructs/k8s/network-policy.ts';
import { HubObservability } from '../constructs/k8s/observability.ts';
import { ruleParamsOf } from '../constructs/monitoring/ringforge-rules.ts';
import { PLATFORM_NAMESPACES, SYNC_WAVES } from '../constructs/k8s/platform.ts';
import { protectData } from '../constructs/k8s/data-protection.ts';
import { PostgresCluster, type ObjectStoreLocation } from '../constructs/k8s/postgres.ts';
import { CNPG_IMAGE } from '../constructs/postgres-version.ts';
import { regionBackupStore, regionsByPreference, type HetznerEnvironment, type Region } from '../environments/index.ts';
import { Valkey } from '../constructs/k8s/valkey.ts';
import { NAMESPACES, type ClusterTarget } from './clusters.ts';

/** One folder of dist/k8s/<cluster>/: a chart and the Application that syncs it. */
export interface AppChart {
  readonly app: string;
  readonly chart: Chart;
  /** Namespace the Application defaults to. */
  readonly namespace: string;
  readonly syncWave: number;
  /** Holds the data (database, Valkey volumes): its Application never prunes nor cascades a delete. */
  readonly ownsData?: boolean;
  /** Fields ArgoCD leaves alone (e.g. replicas owned by an autoscaler). */
  readonly ignoreDifferences?: {
    group: string;
    kind: string;
    name: string;
    namespace: string;
    jsonPointers: string[];
  }[];
}

const PRIORITY_CLASS = 'ringforge-critical';
const S3_SECRET = 'pg-backup-s3';

/** Namespaces, their default-deny policies and the priority class of the RingForge pods. */
function baseChart(app: App): AppChart {
  const chart = new Chart(app, 'base');
  new RestrictedNamespace(chart, 'HubNamespace', { name: NAMESPACES.hub });
  new RestrictedNamespace(chart, 'DataNamespace', { name: NAMESPACES.data });
  new k8s.KubePriorityClass(chart, 'Priority', {
    metadata: { name: PRIORITY_CLASS, labels: appLabels('ringforge', 'scheduling') },
    value: 100000,
    globalDefault: false,
    description: 'RingForge hub and data services: scheduled before, and preempted after, batch workloads.',
  });
  return { app: 'base', chart, namespace: NAMESPACES.hub, syncWave: SYNC_WAVES.namespaces };
}

/** A region's archive: its own bucket in another Hetzner location (off-site). */
const storeOf = (env: HetznerEnvironment, region: Region): ObjectStoreLocation => {
  const store = regionBackupStore(env, region);
  return { bucket: store.bucket, folder: store.folder, endpointUrl: store.endpoint, credentialsSecret: S3_SECRET };
};

function postgresChart(app: App, t: ClusterTarget): { app: AppChart; cluster: PostgresCluster } {
  const chart = new Chart(app, 'postgres');
  const multiRegion = t.env.regions.length > 1;
  const cluster = new PostgresCluster(chart, 'Postgres', {
    namespace: NAMESPACES.data,
    imageName: CNPG_IMAGE,
    backupStore: storeOf(t.env, t.region),
    ...(multiRegion
      ? {
          topology: {
            self: t.region.name,
            primary: t.primaryRegion.name,
            members: regionsByPreference(t.env).map((r) => ({ region: r.name, store: storeOf(t.env, r) })),
          },
        }
      : {}),
    rpoSeconds: t.env.drill.rpoSeconds,
    maxArchiveTimeoutSeconds: t.env.backup.archiveTimeoutSeconds,
    retentionDays: t.env.backup.retentionDays,
    backupSchedule: t.env.backup.schedule,
    priorityClassName: PRIORITY_CLASS,
  });
  return {
    app: {
      app: 'postgres',
      chart,
      namespace: NAMESPACES.data,
      syncWave: SYNC_WAVES.data,
      // The bootstrap is read only when a Cluster is created; after a switchover it names the new
      // primary, which must not be pushed onto a running cluster.
      ignoreDifferences: [
        {
          group: 'postgresql.cnpg.io',
          kind: 'Cluster',
          name: cluster.name,
          namespace: NAMESPACES.data,
          jsonPointers: ['/spec/bootstrap'],
        },
      ],
    },
    cluster,
  };
}

const hubPeer = (labels: Record<string, string>) => Peer.pods(labels, NAMESPACES.hub);

export function renderCluster(t: ClusterTarget): AppChart[] {
  const app = new App();
  const { env } = t;
  const hubLabels = { 'app.kubernetes.io/name': 'hub', 'app.kubernetes.io/instance': 'hub' };
  const prometheus = Peer.namespace(PLATFORM_NAMESPACES.monitoring);

  const base = baseChart(app);
  const postgres = postgresChart(app, t);
  new AllowTraffic(postgres.app.chart, 'PostgresTraffic', {
    name: 'postgres',
    namespace: NAMESPACES.data,
    podLabels: postgres.cluster.podLabels,
    ingress: [
      { peers: [hubPeer(hubLabels)], tcpPorts: [5432] },
      { peers: [Peer.pods(postgres.cluster.podLabels)], tcpPorts: [5432, 8000] },
      // The operator reaches each instance manager's status endpoint and Postgres.
      { peers: [Peer.namespace(PLATFORM_NAMESPACES.cnpg)], tcpPorts: [5432, 8000] },
      { peers: [prometheus], tcpPorts: [9187] },
    ],
    egress: [
      { peers: [Peer.pods(postgres.cluster.podLabels)], tcpPorts: [5432, 8000] },
      // The Kubernetes API (instance manager) and the object store (WAL archive, base backups).
      { peers: Peer.anyAddress(), tcpPorts: [443, 6443] },
    ],
  });

  const valkeyChart = new Chart(app, 'valkey');
  const valkeyStore = regionBackupStore(t.env, t.region);
  const valkey = new Valkey(valkeyChart, 'Valkey', {
    namespace: NAMESPACES.data,
    priorityClassName: PRIORITY_CLASS,
    snapshots: {
      bucket: valkeyStore.bucket,
      folder: valkeyStore.folder,
      endpointUrl: valkeyStore.endpoint,
      s3Region: valkeyStore.s3Region,
      credentialsSecret: S3_SECRET,
    },
  });
  new AllowTraffic(valkeyChart, 'ValkeyTraffic', {
    name: 'valkey',
    namespace: NAMESPACES.data,
    podLabels: valkey.podLabels,
    ingress: [
      { peers: [hubPeer(hubLabels), Peer.pods(valkey.podLabels)], tcpPorts: valkey.ports },
      { peers: [prometheus], tcpPorts: [9121] },
    ],
    egress: [{ peers: [Peer.pods(valkey.podLabels)], tcpPorts: valkey.ports }],
  });

  const hubChart = new Chart(app, 'hub');
  const hub = new HubWorkload(hubChart, 'Hub', {
    namespace: NAMESPACES.hub,
    image: `${env.hub.image.repository}@${env.hub.image.digest}`,
    hostname: env.dns.hubHostname,
    minReplicas: env.hub.replicas.min,
    maxReplicas: env.hub.replicas.max,
    targetConnectionsPerReplica: env.hub.targetConnectionsPerReplica,
    drainSeconds: env.hub.drainSeconds,
    requestsCpuMillis: env.hub.requests.cpuMillis,
    requestsMemoryMiB: env.hub.requests.memoryMiB,
    limitsCpuMillis: env.hub.limits.cpuMillis,
    limitsMemoryMiB: env.hub.limits.memoryMiB,
    port: env.hub.port,
    adminPort: env.hub.adminPort,
    websocketPath: env.hub.websocketPath,
    // The ingress controller's pods forward the client address; nothing else reaches the public port.
    trustedProxies: [t.podCidr],
    priorityClassName: PRIORITY_CLASS,
    redis: { sentinels: valkey.sentinels, masterName: valkey.masterName },
  });
  new AllowTraffic(hubChart, 'HubTraffic', {
    name: 'hub',
    namespace: NAMESPACES.hub,
    podLabels: hubLabels,
    ingress: [
      { peers: [Peer.namespace(PLATFORM_NAMESPACES.ingress)], tcpPorts: [hub.port] },
      // /metrics and the admin API: Prometheus only. Operators use `kubectl port-forward`, which
      // enters the pod's own network namespace and is not subject to network policies.
      { peers: [prometheus], tcpPorts: [hub.adminPort] },
    ],
    egress: [
      { peers: [Peer.pods(postgres.cluster.podLabels, NAMESPACES.data)], tcpPorts: [5432] },
      { peers: [Peer.pods(valkey.podLabels, NAMESPACES.data)], tcpPorts: valkey.ports },
    ],
  });

  const observabilityChart = new Chart(app, 'observability');
  new HubObservability(observabilityChart, 'Observability', {
    namespace: NAMESPACES.hub,
    hubSelector: hubLabels,
    metricsPort: HUB_PORT_NAMES.admin,
    dataNamespace: NAMESPACES.data,
    valkeySelector: valkey.podLabels,
    postgresPodMonitor: postgres.cluster.name,
    environment: env.name,
    region: t.region.name,
    ruleParams: ruleParamsOf(env),
    slo: env.slo,
  });

  const apps: AppChart[] = [
    base,
    postgres.app,
    { app: 'valkey', chart: valkeyChart, namespace: NAMESPACES.data, syncWave: SYNC_WAVES.data },
    {
      app: 'hub',
      chart: hubChart,
      namespace: NAMESPACES.hub,
      syncWave: SYNC_WAVES.hub,
      ignoreDifferences: [
        {
          group: 'apps',
          kind: 'Deployment',
          name: hub.name,
          namespace: NAMESPACES.hub,
          jsonPointers: ['/spec/replicas'],
        },
      ],
    },
    { app: 'observability', chart: observabilityChart, namespace: NAMESPACES.hub, syncWave: SYNC_WAVES.observability },
  ];
  // Whatever holds data, in whichever app, is guarded, and so is the Application that syncs it.
  return apps.map((a) => ({ ...a, ownsData: protectData(a.chart) }));
}
