import { stringify } from 'yaml';
import type { Alerting } from '../../environments/alerting.ts';
import { alertmanagerConfig, type SecretFile } from './alertmanager.ts';
import type { PostgresMetrics } from './data-alerts.ts';
import { ringforgeRuleGroups, ruleParamsOf, type RingforgeRuleParams } from './ringforge-rules.ts';
import type { MetricScope } from './rules.ts';

/*
 * Monitoring of tiers 0-1, where no Kubernetes operator exports anything: a Prometheus and an
 * Alertmanager beside the node and Postgres exporters, with the rules and routing of tiers 2-3.
 * Series are told apart by scrape job, and Postgres's by postgres_exporter's names.
 */

/** The scrape jobs; the rules select each component by its job. */
export const SERVER_JOBS = {
  hub: 'hub',
  postgres: 'postgres',
  valkey: 'valkey',
  node: 'node',
  prometheus: 'prometheus',
  alertmanager: 'alertmanager',
} as const;

/** The node exporter's textfile directory (Debian's default), where the backup job leaves its metric. */
export const NODE_EXPORTER_TEXTFILE_DIR = '/var/lib/prometheus/node-exporter';

/** Written by the base-backup job (wal-shipping.ts) after each base backup, by outcome. */
export const BACKUP_METRICS = {
  success: 'ringforge_backup_last_success_timestamp_seconds',
  failure: 'ringforge_backup_last_failure_timestamp_seconds',
} as const;

/** Prometheus keeps this long (the seeds' retention, as on Kubernetes). */
export const PROMETHEUS_RETENTION = '30d';

/** The query postgres_exporter runs from POSTGRES_EXPORTER_QUERIES; its columns become `ringforge_replication_<column>`. */
const REPLICATION_QUERY = 'ringforge_replication';

/**
 * postgres_exporter's built-in series for archiving, backends and settings, the replication state
 * of REPLICATION_QUERY (what CloudNativePG reports and the exporter does not), and the backup
 * timestamps the node exporter reads from the backup job's textfile.
 */
export const POSTGRES_EXPORTER_METRICS: PostgresMetrics = {
  instance: 'instance',
  // The exporter answers while Postgres is down; pg_up says whether it reached Postgres.
  up: 'pg_up',
  backupGroup: 'job',
  backupSource: () => `job="${SERVER_JOBS.node}"`,
  lastBackup: BACKUP_METRICS.success,
  lastFailedBackup: BACKUP_METRICS.failure,
  archived: 'pg_stat_archiver_archived_count',
  archiveFailed: 'pg_stat_archiver_failed_count',
  replicationLag: `${REPLICATION_QUERY}_lag_seconds`,
  inRecovery: `${REPLICATION_QUERY}_in_recovery`,
  walReceiverUp: `${REPLICATION_QUERY}_wal_receiver_up`,
  backends: 'pg_stat_activity_count',
  maxConnections: (postgres) => `pg_settings_max_connections{${postgres}}`,
};

/** postgres_exporter's `--extend.query-path` file: replication as CloudNativePG's pg_replication reports it. */
export const POSTGRES_EXPORTER_QUERIES = stringify({
  [REPLICATION_QUERY]: {
    query:
      'SELECT CASE WHEN pg_is_in_recovery() THEN GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) ELSE 0 END AS lag_seconds, ' +
      'CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END AS in_recovery, ' +
      "(SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming') AS wal_receiver_up",
    master: true,
    metrics: [
      {
        lag_seconds: {
          usage: 'GAUGE',
          description: 'Seconds since the last transaction replayed on a standby (0 on a primary)',
        },
      },
      { in_recovery: { usage: 'GAUGE', description: '1 on a standby' } },
      { wal_receiver_up: { usage: 'GAUGE', description: '1 while a standby streams WAL from its primary' } },
    ],
  },
});

/** What a server's monitoring needs from the environment file. */
export interface ServerMonitoring {
  readonly environment: string;
  readonly region: string;
  readonly rules: RingforgeRuleParams;
  readonly alerting: Alerting;
}

export function serverMonitoringOf(env: {
  name: string;
  regions: readonly { name: string }[];
  slo: RingforgeRuleParams['slo'];
  drill: { rpoSeconds: number };
  backup: { archiveTimeoutSeconds: number };
  alerting: Alerting;
}): ServerMonitoring {
  return { environment: env.name, region: env.regions[0]!.name, rules: ruleParamsOf(env), alerting: env.alerting };
}

export const serverScope = (m: Pick<ServerMonitoring, 'environment' | 'region'>): MetricScope => ({
  hub: `job="${SERVER_JOBS.hub}"`,
  postgres: `job="${SERVER_JOBS.postgres}"`,
  valkey: `job="${SERVER_JOBS.valkey}"`,
  postgresMetrics: POSTGRES_EXPORTER_METRICS,
  environment: m.environment,
  region: m.region,
});

/** The rule file: every RingForge rule group, scoped by job. */
export const serverRuleFile = (m: ServerMonitoring): string =>
  stringify({ groups: ringforgeRuleGroups(serverScope(m), m.rules) }, { lineWidth: 0 });

/** `host:port` of each scrape target, by job; a job without targets is left out. */
export type ScrapeTargets = Partial<Record<keyof typeof SERVER_JOBS, readonly string[]>>;

export interface PrometheusConfigProps {
  readonly targets: ScrapeTargets;
  /** `host:port` of the Alertmanager. */
  readonly alertmanager: string;
  /** Where Prometheus reads the rule file. */
  readonly ruleFile: string;
}

/** prometheus.yml: every job scraped every 15 s, alerts to the one Alertmanager. */
export function renderPrometheusConfig(m: ServerMonitoring, p: PrometheusConfigProps): string {
  const jobs = Object.entries(p.targets).filter(([, targets]) => targets.length > 0);
  return stringify(
    {
      global: {
        scrape_interval: '15s',
        evaluation_interval: '15s',
        external_labels: { environment: m.environment, region: m.region },
      },
      alerting: { alertmanagers: [{ static_configs: [{ targets: [p.alertmanager] }] }] },
      rule_files: [p.ruleFile],
      scrape_configs: jobs.map(([job, targets]) => ({ job_name: job, static_configs: [{ targets: [...targets] }] })),
    },
    { lineWidth: 0 },
  );
}

/** alertmanager.yml: the environment's receivers and routes, each secret a file under `secretsDir/<secret>/<key>`. */
export function renderServerAlertmanagerConfig(m: ServerMonitoring, secretsDir: string): string {
  const file: SecretFile = (ref) => `${secretsDir}/${ref.secret}/${ref.key}`;
  return stringify(alertmanagerConfig(m.alerting, file), { lineWidth: 0 });
}
