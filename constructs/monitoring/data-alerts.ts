import { alertOf, type AlertingRule, type MetricScope } from './rules.ts';

export interface DataAlertParams {
  /** A base backup older than this alerts. */
  readonly backupMaxAgeHours: number;
  /** Replay lag of a streaming standby that alerts: the environment's RPO. */
  readonly replicationLagSeconds: number;
  /** Time without replaying WAL after which a standby with no WAL receiver counts as stalled. */
  readonly replicaStallSeconds: number;
}

// The Barman Cloud plugin exports the backup timestamps that the in-core cnpg_collector_* ones did.
const LAST_BACKUP = 'barman_cloud_cloudnative_pg_io_last_available_backup_timestamp';
const LAST_FAILED_BACKUP = 'barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp';

/**
 * Alerts on the data services: CloudNativePG's instance metrics (its default queries: pg_stat_archiver,
 * pg_replication, backends), the Barman Cloud plugin's backup timestamps and the Valkey exporter.
 */
export function dataAlerts(scope: MetricScope, params: DataAlertParams): AlertingRule[] {
  const pg = scope.postgres;
  const postgres = (a: Omit<Parameters<typeof alertOf>[1], 'labels'>) =>
    alertOf(scope, { ...a, labels: { component: 'postgres' } });
  return [
    postgres({
      alert: 'RingforgeBackupFailed',
      expr: `max by (namespace) (${LAST_FAILED_BACKUP}{${pg}}) > max by (namespace) (${LAST_BACKUP}{${pg}})`,
      for: '5m',
      severity: 'warning',
      summary: 'The latest base backup failed; the one before it is the newest restore base.',
    }),
    postgres({
      alert: 'RingforgeBackupTooOld',
      expr: `time() - max by (namespace) (${LAST_BACKUP}{${pg}}) > ${params.backupMaxAgeHours * 3600}`,
      for: '10m',
      severity: 'critical',
      summary: `No base backup has completed for ${params.backupMaxAgeHours} hours: restores replay ever more WAL.`,
    }),
    postgres({
      alert: 'RingforgeWalArchivingFailing',
      // Postgres retries a failed segment until it succeeds, so failures without a single success
      // in the window mean the archive is stuck, not that one attempt hiccupped.
      expr: `increase(cnpg_pg_stat_archiver_failed_count{${pg}}[5m]) > 0 and increase(cnpg_pg_stat_archiver_archived_count{${pg}}[5m]) == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'WAL archiving fails: segments pile up on the volume and the RPO of a restore grows.',
    }),
    postgres({
      alert: 'RingforgePostgresReplicationLag',
      expr: `cnpg_pg_replication_lag{${pg}} > ${params.replicationLagSeconds} and cnpg_pg_replication_is_wal_receiver_up{${pg}} == 1`,
      for: '5m',
      severity: 'warning',
      summary: `A streaming standby replays WAL more than ${params.replicationLagSeconds} s behind its primary (the RPO).`,
    }),
    postgres({
      // A replica cluster's designated primary restores WAL from the object store and has no WAL
      // receiver; a standby of the primary cluster whose receiver is down is in the same state.
      alert: 'RingforgeReplicaStalled',
      expr: `cnpg_pg_replication_lag{${pg}} > ${params.replicaStallSeconds} and cnpg_pg_replication_in_recovery{${pg}} == 1 and cnpg_pg_replication_is_wal_receiver_up{${pg}} == 0`,
      for: '5m',
      severity: 'critical',
      summary: `A standby (or the replica cluster) has received no WAL to replay for ${Math.round(params.replicaStallSeconds / 60)} minutes: a failover to it would lose writes.`,
    }),
    postgres({
      alert: 'RingforgePostgresConnectionsHigh',
      expr: `max by (pod) (sum by (pod) (cnpg_backends_total{${pg}}) / on (pod) max by (pod) (cnpg_pg_settings_setting{${pg}, name="max_connections"})) > 0.8`,
      for: '5m',
      severity: 'warning',
      summary: 'Postgres uses more than 80% of max_connections: pool exhaustion risk.',
    }),
    alertOf(scope, {
      alert: 'RingforgeRedisMemoryHigh',
      expr: `max by (pod) (redis_memory_used_bytes{${scope.valkey}} / redis_memory_max_bytes{${scope.valkey}}) > 0.9`,
      for: '5m',
      severity: 'warning',
      summary: 'Valkey uses more than 90% of maxmemory: writes will be refused.',
      labels: { component: 'valkey' },
    }),
  ];
}
