import type { MetricScope } from '../monitoring/rules.ts';
import type { Dashboard } from './builder.ts';

/** CloudNativePG's instance metrics: roles, connections, replication, the WAL archive and backups. */
export function postgresDashboard(scope: MetricScope): Dashboard {
  const pg = scope.postgres;
  return {
    uid: 'ringforge-postgres',
    title: 'RingForge Postgres',
    description:
      'The CloudNativePG cluster of this region: instances, connections, replication lag, WAL archiving and base backups.',
    rows: [
      {
        title: 'Cluster',
        panels: [
          { title: 'Instances up', kind: 'stat', queries: [{ expr: `count(cnpg_collector_up{${pg}} == 1)` }] },
          {
            title: 'Replicas in recovery',
            kind: 'stat',
            queries: [{ expr: `sum(cnpg_pg_replication_in_recovery{${pg}})` }],
          },
          {
            title: 'Last base backup',
            kind: 'stat',
            unit: 'dateTimeAsIso',
            queries: [{ expr: `max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${pg}}) * 1000` }],
          },
          {
            title: 'WAL archive failures (1 h)',
            kind: 'stat',
            redAbove: 1,
            queries: [{ expr: `sum(increase(cnpg_pg_stat_archiver_failed_count{${pg}}[1h]))` }],
          },
        ],
      },
      {
        title: 'Load',
        panels: [
          {
            title: 'Backends',
            queries: [{ expr: `sum by (pod, state) (cnpg_backends_total{${pg}})`, legend: '{{pod}} {{state}}' }],
          },
          {
            title: 'Transactions / s',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (pod) (rate(cnpg_pg_stat_database_xact_commit{${pg}}[5m]))`,
                legend: '{{pod}} commits',
              },
              {
                expr: `sum by (pod) (rate(cnpg_pg_stat_database_xact_rollback{${pg}}[5m]))`,
                legend: '{{pod}} rollbacks',
              },
            ],
          },
          {
            title: 'Database size',
            unit: 'bytes',
            queries: [{ expr: `max by (datname) (cnpg_pg_database_size_bytes{${pg}})`, legend: '{{datname}}' }],
          },
        ],
      },
      {
        title: 'Replication and archive',
        panels: [
          {
            title: 'Replication lag',
            description: 'Seconds a standby is behind; the RPO of a failover to it.',
            unit: 's',
            queries: [{ expr: `max by (pod) (cnpg_pg_replication_lag{${pg}})`, legend: '{{pod}}' }],
          },
          {
            title: 'WAL segments archived / s',
            unit: 'ops',
            queries: [
              { expr: `sum(rate(cnpg_pg_stat_archiver_archived_count{${pg}}[5m]))`, legend: 'archived' },
              { expr: `sum(rate(cnpg_pg_stat_archiver_failed_count{${pg}}[5m]))`, legend: 'failed' },
            ],
          },
          {
            title: 'Since last archived segment',
            unit: 's',
            queries: [
              { expr: `max by (pod) (cnpg_pg_stat_archiver_seconds_since_last_archival{${pg}})`, legend: '{{pod}}' },
            ],
          },
        ],
      },
    ],
  };
}
