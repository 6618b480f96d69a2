/*
 * The restore drill on a Kubernetes tier (2-3): a CloudNativePG recovery Cluster bootstrapped from
 * the production cluster's object store through the Barman Cloud plugin (optionally to a point in
 * time), waited for, verified with the drill's SQL against the source, and deleted. The manifests
 * use the same generated CRD types as constructs/k8s/postgres.ts, and the object store location
 * is the region's off-site store of charts/apps.ts (`regionBackupStore`), server name = the cluster name, Secret
 * `pg-backup-s3`); a recovery cluster never archives, so it cannot write into production's folder.
 */
import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { ObjectStore, ObjectStoreSpecConfigurationWalCompression } from '../../imports/barmancloud.cnpg.io.ts';
import { Cluster } from '../../imports/postgresql.cnpg.io.ts';
import { BARMAN_PLUGIN } from '../../constructs/k8s/postgres.ts';
import { regionBackupStore, type Environment } from '../../environments/index.ts';
import { k8sTarget } from '../lib/k8s-region.ts';
import { PSQL_QUERY_FLAGS, VERIFICATION_SQL, summarySql } from '../lib/verification-sql.ts';

/** Where tier 2-3 charts put Postgres and its backups (charts/clusters.ts, charts/apps.ts). */
export const K8S_SOURCE = {
  namespace: 'ringforge-data',
  cluster: 'pg',
  credentialsSecret: 'pg-backup-s3',
  database: 'hub',
} as const;

export interface K8sRestorePlanOptions {
  readonly env: Environment;
  /** Region whose cluster is restored (the folder in the bucket). @default - the environment's primary region */
  readonly region?: string;
  /** ISO timestamp to recover to. @default - the end of the WAL archive */
  readonly targetTime?: string;
  /** Unique suffix of the scratch cluster's name, e.g. a timestamp. */
  readonly runId: string;
  /** Seconds `kubectl wait` allows the recovery cluster; the RTO objective by default. */
  readonly waitSeconds?: number;
}

export interface PlanStep {
  readonly name: string;
  readonly description: string;
  /** Argument vector; `-f -` steps read `stdin`. */
  readonly command: readonly string[];
  readonly stdin?: string;
}

export interface K8sRestorePlan {
  readonly recoveryCluster: string;
  readonly manifests: readonly Record<string, unknown>[];
  readonly steps: readonly PlanStep[];
}

/** The ObjectStore (read side) and the recovery Cluster, as plain objects ready for `kubectl apply`. */
export function recoveryManifests(options: K8sRestorePlanOptions): {
  name: string;
  manifests: Record<string, unknown>[];
} {
  const target = k8sTarget(options.env, options.region, 'restore');
  const source = regionBackupStore(target.env, target.region);
  const name = `${K8S_SOURCE.cluster}-drill-${options.runId}`;
  const storeName = `${name}-source`;
  const namespace = K8S_SOURCE.namespace;
  const labels = { 'app.kubernetes.io/part-of': 'ringforge', 'ringforge.io/drill': 'restore' };
  const app = new App();
  const chart = new Chart(app, 'restore-drill');
  new ObjectStore(chart, 'Source', {
    metadata: { name: storeName, namespace, labels },
    spec: {
      configuration: {
        destinationPath: `s3://${source.bucket}/${source.folder}`,
        endpointUrl: source.endpoint,
        s3Credentials: {
          accessKeyId: { name: K8S_SOURCE.credentialsSecret, key: 'ACCESS_KEY_ID' },
          secretAccessKey: { name: K8S_SOURCE.credentialsSecret, key: 'ACCESS_SECRET_KEY' },
        },
        wal: { compression: ObjectStoreSpecConfigurationWalCompression.ZSTD, maxParallel: 8 },
        data: { jobs: 4 },
      },
    },
  });
  new Cluster(chart, 'Recovery', {
    metadata: { name, namespace, labels },
    spec: {
      // One instance: a drill proves the backup, not high availability.
      instances: 1,
      storage: { storageClass: 'hcloud-volumes', size: '20Gi' },
      bootstrap: {
        recovery: {
          source: 'origin',
          database: K8S_SOURCE.database,
          owner: K8S_SOURCE.database,
          ...(options.targetTime === undefined ? {} : { recoveryTarget: { targetTime: options.targetTime } }),
        },
      },
      externalClusters: [
        {
          name: 'origin',
          plugin: { name: BARMAN_PLUGIN, parameters: { barmanObjectName: storeName, serverName: K8S_SOURCE.cluster } },
        },
      ],
    },
  });
  return { name, manifests: chart.toJson() as Record<string, unknown>[] };
}

const psql = (cluster: string, sql: string) => [
  'kubectl',
  '--namespace',
  K8S_SOURCE.namespace,
  'exec',
  `${cluster}-1`,
  '--container',
  'postgres',
  '--',
  'psql',
  '--dbname',
  K8S_SOURCE.database,
  ...PSQL_QUERY_FLAGS,
  sql,
];

export function k8sRestorePlan(options: K8sRestorePlanOptions): K8sRestorePlan {
  const { name, manifests } = recoveryManifests(options);
  const kubectl = ['kubectl', '--namespace', K8S_SOURCE.namespace];
  // The recovery point is read from the restored cluster first; the source is then summarized up to it.
  const cutoff = options.targetTime ?? '<recovery point: newest messages.created_at in the restored cluster>';
  return {
    recoveryCluster: name,
    manifests,
    steps: [
      {
        name: 'apply',
        description: 'create the ObjectStore (read side) and the recovery Cluster',
        command: [...kubectl, 'apply', '--filename', '-'],
        stdin: manifests.map((m) => stringify(m)).join('---\n'),
      },
      {
        name: 'wait',
        description: 'fetch the base backup and replay WAL until the cluster is ready (RTO)',
        command: [
          ...kubectl,
          'wait',
          `cluster/${name}`,
          '--for=condition=Ready',
          `--timeout=${options.waitSeconds ?? options.env.drill.rtoSeconds}s`,
        ],
      },
      {
        name: 'recovery-point',
        description: 'read the recovery point from the restored data',
        command: psql(name, VERIFICATION_SQL.recoveryPoint),
      },
      {
        name: 'verify-restored',
        description: 'summarize the restored data up to the recovery point',
        command: psql(name, summarySql(cutoff)),
      },
      {
        name: 'verify-source',
        description: 'summarize the source up to the same point; both must be equal',
        command: psql(K8S_SOURCE.cluster, summarySql(cutoff)),
      },
      {
        name: 'delete',
        description: 'delete the recovery cluster and its ObjectStore',
        command: [
          ...kubectl,
          'delete',
          `cluster/${name}`,
          `objectstore.barmancloud.cnpg.io/${name}-source`,
          '--wait=false',
        ],
      },
    ],
  };
}
