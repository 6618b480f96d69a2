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

/** How a cluster gets its first data: a fresh database, or streaming from another region's archive. */
export class PostgresBootstrap {
  /** A new, empty database owned by `owner`. */
  static initdb(database = APP_DATABASE, owner = APP_OWNER): PostgresBootstrap {
    return new PostgresBootstrap({ initdb: { database, owner } });
  }

  /**
   * A replica cluster (tier 3 secondary region): restores the primary's base backup from its object
   * store, then keeps replaying its WAL archive until it is promoted. `database` and `owner` name
   * what the primary's initdb created, so the `-app` Secret of the promoted cluster points at it
   * (CloudNativePG would otherwise write `app`/`app`).
   */
  static replicaOf(
    primary: { readonly serverName: string; readonly store: ObjectStoreLocation },
    database = APP_DATABASE,
    owner = APP_OWNER,
  ): PostgresBootstrap {
    return new PostgresBootstrap({ recovery: { source: 'origin', database, owner } }, primary);
  }

  private constructor(
    readonly spec: ClusterSpecBootstrap,
    readonly origin?: { readonly serverName: string; readonly store: ObjectStoreLocation },
  ) {}
}

export interface PostgresClusterProps {
  readonly namespace: string;
  readonly bootstrap: PostgresBootstrap;
  /** Where this cluster archives WAL and writes base backups. */
  readonly backupStore: ObjectStoreLocation;
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

    const origin = props.bootstrap.origin;
    const externalClusters: ClusterSpecExternalClusters[] = [];
    let replica: ClusterSpecReplica | undefined;
    if (origin) {
      new ObjectStore(this, 'OriginStore', {
        metadata: { name: `${name}-origin`, namespace },
        spec: { configuration: storeConfiguration(origin.store) },
      });
      externalClusters.push({
        name: 'origin',
        plugin: {
          name: BARMAN_PLUGIN,
          parameters: { barmanObjectName: `${name}-origin`, serverName: origin.serverName },
        },
      });
      replica = { enabled: true, source: 'origin' };
    }

    new Cluster(this, 'Resource', {
      metadata: { name, namespace },
      spec: {
        instances,
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
        bootstrap: props.bootstrap.spec,
        ...(replica ? { replica, externalClusters } : {}),
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
