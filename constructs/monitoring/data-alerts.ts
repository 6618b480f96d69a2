import { alertOf, type AlertingRule, type MetricScope } from './rules.ts';

export interface DataAlertParams {
  /** A base backup older than this alerts. */
  readonly backupMaxAgeHours: number;
  /** Replay lag of a streaming standby that alerts: the environment's RPO. */
  readonly replicationLagSeconds: number;
  /** Time without replaying WAL after which a standby with no WAL receiver counts as stalled. */
  readonly replicaStallSeconds: number;
}

/** The Postgres series the data alerts read, which differ between the platforms that export them. */
export interface PostgresMetrics {
  /** The label naming one instance of a data service (Postgres, and Valkey likewise) on this platform. */
  readonly instance: string;
  /** 1 while a Postgres instance answers its exporter. */
  readonly up: string;
  /** The label backups are grouped by: one backup history per cluster. */
  readonly backupGroup: string;
  /** Label matchers of the backup timestamps' exporter, from the scope's Postgres matchers. */
  readonly backupSource: (postgres: string) => string;
  readonly lastBackup: string;
  readonly lastFailedBackup: string;
  readonly archived: string;
  readonly archiveFailed: string;
  /** Seconds a standby's replay is behind (0 on a primary). */
  readonly replicationLag: string;
  /** 1 on a standby. */
  readonly inRecovery: string;
  /** 1 while a standby streams from its primary. */
  readonly walReceiverUp: string;
  /** Server processes, labelled by instance. */
  readonly backends: string;
  /** The series of max_connections, given the Postgres matchers. */
  readonly maxConnections: (postgres: string) => string;
}

/**
 * CloudNativePG's instance metrics (its default queries: pg_stat_archiver, pg_replication,
 * backends); the Barman Cloud plugin exports the backup timestamps the in-core cnpg_collector_* ones did.
 */
export const CLOUDNATIVE_PG_METRICS: PostgresMetrics = {
  instance: 'pod',
  // The exporter runs inside the instance's pod: the pod's scrape fails when the instance is gone.
  up: 'up',
  backupGroup: 'namespace',
  backupSource: (postgres) => postgres,
  lastBackup: 'barman_cloud_cloudnative_pg_io_last_available_backup_timestamp',
  lastFailedBackup: 'barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp',
  archived: 'cnpg_pg_stat_archiver_archived_count',
  archiveFailed: 'cnpg_pg_stat_archiver_failed_count',
  replicationLag: 'cnpg_pg_replication_lag',
  inRecovery: 'cnpg_pg_replication_in_recovery',
  walReceiverUp: 'cnpg_pg_replication_is_wal_receiver_up',
  backends: 'cnpg_backends_total',
  maxConnections: (postgres) => `cnpg_pg_settings_setting{${postgres}, name="max_connections"}`,
};

export function dataAlerts(scope: MetricScope, params: DataAlertParams): AlertingRule[] {
  const pg = scope.postgres;
  const m = scope.postgresMetrics ?? CLOUDNATIVE_PG_METRICS;
  const backups = m.backupSource(pg);
  const postgres = (a: Omit<Parameters<typeof alertOf>[1], 'labels'>) =>
    alertOf(scope, { ...a, labels: { component: 'postgres' } });
  return [
    postgres({
      alert: 'RingforgeBackupFailed',
      expr: `max by (${m.backupGroup}) (${m.lastFailedBackup}{${backups}}) > max by (${m.backupGroup}) (${m.lastBackup}{${backups}})`,
      for: '5m',
      severity: 'warning',
      summary: 'The latest base backup failed; the one before it is the newest restore base.',
    }),
    postgres({
      alert: 'RingforgeBackupTooOld',
      expr: `time() - max by (${m.backupGroup}) (${m.lastBackup}{${backups}}) > ${params.backupMaxAgeHours * 3600}`,
      for: '10m',
      severity: 'critical',
      summary: `No base backup has completed for ${params.backupMaxAgeHours} hours: restores replay ever more WAL.`,
    }),
    postgres({
      alert: 'RingforgeWalArchivingFailing',
      // Postgres retries a failed segment until it succeeds, so failures without a single success
      // in the window mean the archive is stuck, not that one attempt hiccupped.
      expr: `increase(${m.archiveFailed}{${pg}}[5m]) > 0 and increase(${m.archived}{${pg}}[5m]) == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'WAL archiving fails: segments pile up on the volume and the RPO of a restore grows.',
    }),
    postgres({
      alert: 'RingforgePostgresReplicationLag',
      expr: `${m.replicationLag}{${pg}} > ${params.replicationLagSeconds} and ${m.walReceiverUp}{${pg}} == 1`,
      for: '5m',
      severity: 'warning',
      summary: `A streaming standby replays WAL more than ${params.replicationLagSeconds} s behind its primary (the RPO).`,
    }),
    postgres({
      // A replica cluster's designated primary restores WAL from the object store and has no WAL
      // receiver; a standby of the primary cluster whose receiver is down is in the same state.
      alert: 'RingforgeReplicaStalled',
      expr: `${m.replicationLag}{${pg}} > ${params.replicaStallSeconds} and ${m.inRecovery}{${pg}} == 1 and ${m.walReceiverUp}{${pg}} == 0`,
      for: '5m',
      severity: 'critical',
      summary: `A standby (or the replica cluster) has received no WAL to replay for ${Math.round(params.replicaStallSeconds / 60)} minutes: a failover to it would lose writes.`,
    }),
    postgres({
      alert: 'RingforgePostgresConnectionsHigh',
      expr: `max by (${m.instance}) (sum by (${m.instance}) (${m.backends}{${pg}}) / on (${m.instance}) max by (${m.instance}) (${m.maxConnections(pg)})) > 0.8`,
      for: '5m',
      severity: 'warning',
      summary: 'Postgres uses more than 80% of max_connections: pool exhaustion risk.',
    }),
    alertOf(scope, {
      alert: 'RingforgeRedisMemoryHigh',
      expr: `max by (${m.instance}) (redis_memory_used_bytes{${scope.valkey}} / redis_memory_max_bytes{${scope.valkey}}) > 0.9`,
      for: '5m',
      severity: 'warning',
      summary: 'Valkey uses more than 90% of maxmemory: writes will be refused.',
      labels: { component: 'valkey' },
    }),
  ];
}
