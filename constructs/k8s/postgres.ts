import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { ObjectStore, ObjectStoreSpecConfigurationWalCompression } from '../../imports/barmancloud.cnpg.io.ts';
import {
  Cluster,
  ClusterSpecPrimaryUpdateStrategy,
  ClusterSpecResourcesLimits,
  ClusterSpecResourcesRequests,
  type ClusterSpecBootstrap,
  type ClusterSpecExternalClusters,
  type ClusterSpecReplica,
  ScheduledBackup,
  ScheduledBackupSpecBackupOwnerReference,
  ScheduledBackupSpecMethod,
} from '../../imports/postgresql.cnpg.io.ts';

/** The Barman Cloud CNPG-I plugin, which replaces the deprecated in-tree `barmanObjectStore`. */
export const BARMAN_PLUGIN = 'barman-cloud.cloudnative-pg.io';

/** An S3-compatible location backups and WAL go to (or come from). */
export interface ObjectStoreLocation {
  readonly bucket: string;
  /** Folder in the bucket; each cluster writes its own so clusters never overwrite each other. */
  readonly folder: string;
  readonly endpointUrl: string;
  /** Secret with ACCESS_KEY_ID and ACCESS_SECRET_KEY, created by the secrets runbook. */
  readonly credentialsSecret: string;
}

/** The application database and its owner, which the hub reaches through the `<cluster>-app` Secret. */
const APP_DATABASE = 'hub';
const APP_OWNER = 'hub';

/** One cluster of a distributed topology: a region and the object store its cluster archives to. */
export interface TopologyMember {
  readonly region: string;
  readonly store: ObjectStoreLocation;
}

/**
 * CloudNativePG's distributed topology (tier 3): one Cluster per region, every one listing all of
 * them as external clusters, and `primary` naming the one that takes writes. Changing `primary` on
 * every cluster demotes the old primary (it then follows `source`) and promotes the new one.
 */
export interface DistributedTopology {
  /** Region of this cluster. */
  readonly self: string;
  /** Region of the cluster that takes writes. */
  readonly primary: string;
  /** Every region's cluster, this one included, in order of preference. */
  readonly members: readonly TopologyMember[];
}

/** Name of a region's cluster among the external clusters of the topology. */
export const topologyName = (region: string) => `pg-${region}`;

export interface PostgresClusterProps {
  readonly namespace: string;
  /** Where this cluster archives WAL and writes base backups. */
  readonly backupStore: ObjectStoreLocation;
  /** Tier 3: the regions' clusters and which one is primary. @default - a single, primary cluster */
  readonly topology?: DistributedTopology;
  /** Postgres image, `<repository>:<major>.<minor>`; one major everywhere (postgres-version.ts). */
  readonly imageName: string;
  /** Recovery point objective: WAL is shipped at least twice within it. */
  readonly rpoSeconds: number;
  /** Upper bound for `archive_timeout`. @default - half the RPO */
  readonly maxArchiveTimeoutSeconds?: number;
  /** How long base backups and WAL are kept. */
  readonly retentionDays: number;
  /** Base backup schedule, five-field cron (minute hour day month weekday). */
  readonly backupSchedule: string;
  /** Cluster name; the hub reads `<name>-app`. @default 'pg' */
  readonly name?: string;
  /** @default 2 */
  readonly instances?: number;
  /** @default 20 */
  readonly storageGiB?: number;
  /** Storage class of the Hetzner volumes (hcloud CSI driver). @default 'hcloud-volumes' */
  readonly storageClass?: string;
  /** @default 500 */
  readonly requestsCpuMillis?: number;
  /** @default 1024 */
  readonly requestsMemoryMiB?: number;
  /** @default 2000 */
  readonly limitsCpuMillis?: number;
  /** @default 2048 */
  readonly limitsMemoryMiB?: number;
  /** @default 200 */
  readonly maxConnections?: number;
  /** @default 'ringforge-critical' */
  readonly priorityClassName?: string;
}

/** Six-field cron (seconds first), as ScheduledBackup wants it, from a five-field one. */
export function cnpgSchedule(fiveField: string): string {
  const fields = fiveField.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`backup schedule must be a five-field cron (got "${fiveField}")`);
  return ['0', ...fields].join(' ');
}

/**
 * A CloudNativePG cluster: at least two instances on different nodes (required anti-affinity), Hetzner
 * volumes, resource limits, Prometheus metrics, base backups and continuous WAL archiving to an
 * S3-compatible object store through the Barman Cloud plugin, with a retention policy and a schedule.
 */
export class PostgresCluster extends Construct {
  readonly name: string;
  readonly archiveTimeoutSeconds: number;
  /** Labels CloudNativePG puts on the cluster's pods. */
  readonly podLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: PostgresClusterProps) {
    super(scope, id);
    const name = props.name ?? 'pg';
    const instances = props.instances ?? 2;
    if (instances < 2) throw new Error(`instances must be >= 2 so a node loss keeps a standby (got ${instances})`);
    const derived = Math.floor(props.rpoSeconds / 2);
    const archiveTimeout = Math.min(derived, props.maxArchiveTimeoutSeconds ?? derived);
    if (archiveTimeout < 1) throw new Error(`rpoSeconds must be >= 2 (got ${props.rpoSeconds})`);
    this.name = name;
    this.archiveTimeoutSeconds = archiveTimeout;
    this.podLabels = { 'cnpg.io/cluster': name };
    const namespace = props.namespace;
    const storeName = `${name}-backups`;

    new ObjectStore(this, 'BackupStore', {
      metadata: { name: storeName, namespace },
      spec: { retentionPolicy: `${props.retentionDays}d`, configuration: storeConfiguration(props.backupStore) },
    });

    const topology = props.topology ? distributedTopology(this, name, storeName, namespace, props.topology) : undefined;
    new Cluster(this, 'Resource', {
      metadata: { name, namespace },
      spec: {
        instances,
        imageName: props.imageName,
        primaryUpdateStrategy: ClusterSpecPrimaryUpdateStrategy.UNSUPERVISED,
        priorityClassName: props.priorityClassName ?? 'ringforge-critical',
        affinity: {
          enablePodAntiAffinity: true,
          podAntiAffinityType: 'required',
          topologyKey: 'kubernetes.io/hostname',
        },
        storage: { storageClass: props.storageClass ?? 'hcloud-volumes', size: `${props.storageGiB ?? 20}Gi` },
        resources: {
          requests: {
            cpu: ClusterSpecResourcesRequests.fromString(`${props.requestsCpuMillis ?? 500}m`),
            memory: ClusterSpecResourcesRequests.fromString(`${props.requestsMemoryMiB ?? 1024}Mi`),
          },
          limits: {
            cpu: ClusterSpecResourcesLimits.fromString(`${props.limitsCpuMillis ?? 2000}m`),
            memory: ClusterSpecResourcesLimits.fromString(`${props.limitsMemoryMiB ?? 2048}Mi`),
          },
        },
        postgresql: {
          parameters: {
            // A WAL segment is switched and archived at least this often, so a restore from the
            // archive loses at most this much plus the upload: the RPO's other half.
            archive_timeout: `${archiveTimeout}s`,
            max_connections: String(props.maxConnections ?? 200),
          },
        },
        bootstrap: topology?.bootstrap ?? { initdb: { database: APP_DATABASE, owner: APP_OWNER } },
        ...(topology ? { replica: topology.replica, externalClusters: topology.externalClusters } : {}),
        plugins: [{ name: BARMAN_PLUGIN, isWalArchiver: true, parameters: { barmanObjectName: storeName } }],
      },
    });

    new ScheduledBackup(this, 'Schedule', {
      metadata: { name: `${name}-daily`, namespace },
      spec: {
        schedule: cnpgSchedule(props.backupSchedule),
        cluster: { name },
        method: ScheduledBackupSpecMethod.PLUGIN,
        pluginConfiguration: { name: BARMAN_PLUGIN },
        backupOwnerReference: ScheduledBackupSpecBackupOwnerReference.SELF,
        immediate: true,
      },
    });

    // The instance manager serves Postgres metrics on 9187; the deprecated `enablePodMonitor` is
    // replaced by an explicit PodMonitor.
    new ApiObject(this, 'Metrics', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name, namespace },
      spec: { selector: { matchLabels: this.podLabels }, podMetricsEndpoints: [{ port: 'metrics' }] },
    });
  }
}

/**
 * The replica section, external clusters and bootstrap of one cluster of a distributed topology, and
 * an ObjectStore per other region to read that region's archive. Every cluster lists every region
 * (itself through its own archive), so any of them can become primary or follow the new one.
 */
function distributedTopology(
  scope: Construct,
  name: string,
  ownStore: string,
  namespace: string,
  t: DistributedTopology,
): { replica: ClusterSpecReplica; externalClusters: ClusterSpecExternalClusters[]; bootstrap: ClusterSpecBootstrap } {
  const regions = t.members.map((m) => m.region);
  for (const region of [t.self, t.primary]) {
    if (!regions.includes(region)) throw new Error(`topology: ${region} is not a member (${regions.join(', ')})`);
  }
  if (regions.length < 2) throw new Error(`topology: needs at least 2 members (got ${regions.length})`);
  const externalClusters = t.members.map((m): ClusterSpecExternalClusters => {
    const storeName = m.region === t.self ? ownStore : `${name}-${m.region}`;
    if (m.region !== t.self) {
      new ObjectStore(scope, `Store-${m.region}`, {
        metadata: { name: storeName, namespace },
        spec: { configuration: storeConfiguration(m.store) },
      });
    }
    return {
      name: topologyName(m.region),
      plugin: { name: BARMAN_PLUGIN, parameters: { barmanObjectName: storeName, serverName: name } },
    };
  });
  // The primary follows the next region if it is demoted; a replica follows the primary.
  const source = t.self === t.primary ? regions.find((r) => r !== t.self)! : t.primary;
  return {
    replica: { primary: topologyName(t.primary), self: topologyName(t.self), source: topologyName(source) },
    externalClusters,
    // Read only when the Cluster is created: a replica restores the primary's latest base backup and
    // replays its archive. `database`/`owner` name what the primary's initdb made, so a promoted
    // cluster's `-app` Secret points at it (CloudNativePG would otherwise write `app`/`app`).
    bootstrap:
      t.self === t.primary
        ? { initdb: { database: APP_DATABASE, owner: APP_OWNER } }
        : { recovery: { source: topologyName(t.primary), database: APP_DATABASE, owner: APP_OWNER } },
  };
}

function storeConfiguration(store: ObjectStoreLocation) {
  return {
    destinationPath: `s3://${store.bucket}/${store.folder}`,
    endpointUrl: store.endpointUrl,
    s3Credentials: {
      accessKeyId: { name: store.credentialsSecret, key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: store.credentialsSecret, key: 'ACCESS_SECRET_KEY' },
    },
    wal: { compression: ObjectStoreSpecConfigurationWalCompression.ZSTD, maxParallel: 4 },
    data: { jobs: 2 },
  };
}
