import { CLOUDNATIVE_PG_METRICS } from '../../constructs/monitoring/data-alerts.ts';
import type { RingforgeRuleParams } from '../../constructs/monitoring/ringforge-rules.ts';
import type { MetricScope } from '../../constructs/monitoring/rules.ts';

/*
 * Synthetic series for every alert, one situation where it must fire and at least one where it
 * must stay silent. promtool runs them against the rendered rules (rules.test.ts); an alert of the
 * rules without an entry here fails that test.
 */

export interface Series {
  readonly series: string;
  /** promtool's expanding notation: `0+10x20` is 0, 10, ... 200; `5x3` is 5 four times. */
  readonly values: string;
}

export interface Situation {
  readonly what: string;
  readonly series: readonly Series[];
  /** When the alert is looked at, e.g. `15m`. */
  readonly at: string;
  /** Labels of the firing alert beyond the rule's own (those of the series that survive the expression). */
  readonly labels?: Record<string, string>;
  /** Recorded series to check at the same time, with their expected values. */
  readonly recorded?: readonly { expr: string; value: number }[];
}

export interface AlertCases {
  readonly firing: Situation;
  readonly silent: readonly Situation[];
}

/** The labels of a matcher list made only of `name="value"` pairs (what MetricScope holds). */
export function labelsOf(matchers: string): Record<string, string> {
  return Object.fromEntries([...matchers.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v!]));
}

export function alertCases(scope: MetricScope, params: RingforgeRuleParams): Record<string, AlertCases> {
  const s =
    (matchers: string) =>
    (name: string, extra = '') =>
      `${name}{${matchers}${extra ? `, ${extra}` : ''}}`;
  const hub = s(`${scope.hub}, instance="10.244.0.7:9090"`);
  const hub2 = s(`${scope.hub}, instance="10.244.1.9:9090"`);
  const m = scope.postgresMetrics ?? CLOUDNATIVE_PG_METRICS;
  const instance = `${m.instance}="pg-1"`;
  const pg = s(`${scope.postgres}, ${instance}`);
  const backup = s(`${m.backupSource(scope.postgres)}, ${instance}`);
  const valkey = s(`${scope.valkey}, ${m.instance}="valkey-0"`);
  const hubLabels = { ...labelsOf(scope.hub), instance: '10.244.0.7:9090' };
  const pgLabels = { ...labelsOf(scope.postgres), [m.instance]: 'pg-1' };
  const backupGroup = { [m.backupGroup]: labelsOf(m.backupSource(scope.postgres))[m.backupGroup]! };
  const le = String(params.slo.apiP95Ms / 1000);
  const backupMinutes = (params.backupMaxAgeHours + 2) * 60;

  const requests = (internal: string, ok: string): Series[] => [
    { series: hub('hub_request_duration_seconds_count', 'type="dm", outcome="internal"'), values: internal },
    { series: hub('hub_request_duration_seconds_count', 'type="dm", outcome="ok"'), values: ok },
  ];
  const latencies = (fast: string, all: string): Series[] => [
    { series: hub('hub_request_duration_seconds_bucket', `type="dm", outcome="ok", le="${le}"`), values: fast },
    { series: hub('hub_request_duration_seconds_count', 'type="dm", outcome="ok"'), values: all },
  ];
  const region = (hubUp: string, postgresUp: string): Series[] => [
    { series: hub('up'), values: hubUp },
    { series: pg(m.up), values: postgresUp },
  ];
  const replicas = (firstUp: string, secondUp: string): Series[] => [
    { series: hub('up'), values: firstUp },
    { series: hub2('up'), values: secondUp },
  ];
  const pool = (waiting: string): Series[] => [
    { series: hub('hub_database_pool_connections'), values: '10x15' },
    { series: hub('hub_database_pool_max_connections'), values: '10x15' },
    { series: hub('hub_database_pool_waiting_queries'), values: waiting },
  ];
  const tasks = (timedOut: string, submitted: string): Series[] => [
    { series: hub('hub_tasks_total', 'event="timed_out"'), values: timedOut },
    { series: hub('hub_tasks_total', 'event="submitted"'), values: submitted },
  ];
  const backups = (lastFailed: string, last: string): Series[] => [
    { series: backup(m.lastFailedBackup), values: lastFailed },
    { series: backup(m.lastBackup), values: last },
  ];
  const archiver = (failed: string, archived: string): Series[] => [
    { series: pg(m.archiveFailed), values: failed },
    { series: pg(m.archived), values: archived },
  ];
  const standby = (lag: string, walReceiverUp: string, inRecovery?: string): Series[] => [
    { series: pg(m.replicationLag), values: lag },
    ...(inRecovery === undefined ? [] : [{ series: pg(m.inRecovery), values: inRecovery }]),
    { series: pg(m.walReceiverUp), values: walReceiverUp },
  ];
  const connections = (active: string): Series[] => [
    { series: pg(m.backends, 'state="active"'), values: active },
    { series: m.maxConnections(`${scope.postgres}, ${instance}`), values: '100x20' },
  ];
  const memory = (used: string): Series[] => [
    { series: valkey('redis_memory_used_bytes'), values: used },
    { series: valkey('redis_memory_max_bytes'), values: '100x20' },
  ];

  return {
    RingforgeRegionDown: {
      firing: { what: 'no hub and no Postgres instance answers', series: region('0x20', '0x20'), at: '10m' },
      silent: [{ what: 'the hubs are down but Postgres answers', series: region('0x20', '1x20'), at: '10m' }],
    },
    RingforgeHubDown: {
      firing: { what: 'every replica fails its scrape', series: [{ series: hub('up'), values: '0x10' }], at: '5m' },
      silent: [{ what: 'the replica answers', series: [{ series: hub('up'), values: '1x10' }], at: '5m' }],
    },
    RingforgeHubReplicasDown: {
      firing: { what: 'one of two replicas fails its scrape', series: replicas('1x20', '0x20'), at: '10m' },
      silent: [
        { what: 'every replica is down (that is RingforgeHubDown)', series: replicas('0x20', '0x20'), at: '10m' },
        { what: 'both replicas answer', series: replicas('1x20', '1x20'), at: '10m' },
      ],
    },
    RingforgeHub5xxRateHigh: {
      firing: {
        what: 'half of /api/health answers are 500',
        series: [
          { series: hub('hub_http_request_duration_seconds_count', 'route="health", status="500"'), values: '0+10x20' },
          { series: hub('hub_http_request_duration_seconds_count', 'route="health", status="200"'), values: '0+10x20' },
        ],
        at: '15m',
      },
      silent: [
        {
          what: 'only /api/ready answers 503, as a standby region does by design',
          series: [
            {
              series: hub('hub_http_request_duration_seconds_count', 'route="ready", status="503"'),
              values: '0+10x20',
            },
            {
              series: hub('hub_http_request_duration_seconds_count', 'route="health", status="200"'),
              values: '0+10x20',
            },
          ],
          at: '15m',
        },
      ],
    },
    RingforgeHubConnectionsDropped: {
      firing: {
        what: '1000 agents fall to 200 and stay there',
        series: [{ series: hub('hub_connected_agents'), values: '1000x10 200x10' }],
        at: '14m',
      },
      silent: [
        {
          what: 'a fleet of 50 agents empties (below the floor)',
          series: [{ series: hub('hub_connected_agents'), values: '50x10 0x10' }],
          at: '14m',
        },
        {
          what: 'agents leave slowly over the afternoon',
          series: [{ series: hub('hub_connected_agents'), values: '1000-10x20' }],
          at: '14m',
        },
      ],
    },
    RingforgeHubDatabasePoolSaturated: {
      firing: {
        what: 'all 10 connections busy and queries waiting',
        series: pool('3x15'),
        at: '10m',
        labels: hubLabels,
      },
      silent: [{ what: 'the pool is full but nothing waits', series: pool('0x15'), at: '10m' }],
    },
    RingforgeAuthFailureSpike: {
      firing: {
        what: '100 failed logins a minute',
        series: [{ series: hub('hub_protocol_errors_total', 'code="unauthenticated"'), values: '0+100x20' }],
        at: '10m',
      },
      silent: [
        {
          what: '10 failed logins a minute',
          series: [{ series: hub('hub_protocol_errors_total', 'code="unauthenticated"'), values: '0+10x20' }],
          at: '10m',
        },
      ],
    },
    RingforgeTaskTimeoutRateHigh: {
      firing: { what: 'a quarter of the tasks time out', series: tasks('0+5x40', '0+20x40'), at: '30m' },
      silent: [{ what: '5% of the tasks time out', series: tasks('0+1x40', '0+20x40'), at: '30m' }],
    },
    RingforgeErrorRateHigh: {
      firing: { what: 'half of the requests fail', series: requests('0+10x20', '0+10x20'), at: '15m' },
      silent: [{ what: '1% of the requests fail', series: requests('0+1x20', '0+99x20'), at: '15m' }],
    },
    RingforgeBackupFailed: {
      firing: {
        what: 'the latest backup failed after the last good one',
        series: backups('2000x20', '1000x20'),
        at: '10m',
        labels: backupGroup,
      },
      silent: [{ what: 'a backup succeeded after the failed one', series: backups('1000x20', '2000x20'), at: '10m' }],
    },
    RingforgeBackupTooOld: {
      firing: {
        what: `the last backup is ${params.backupMaxAgeHours + 2} hours old`,
        series: [
          {
            series: backup(m.lastBackup),
            values: `0x${backupMinutes}`,
          },
        ],
        at: `${backupMinutes}m`,
        labels: backupGroup,
      },
      silent: [
        {
          what: 'backups keep completing',
          series: [
            {
              series: backup(m.lastBackup),
              values: `0+60x${backupMinutes}`,
            },
          ],
          at: `${backupMinutes}m`,
        },
      ],
    },
    RingforgeWalArchivingFailing: {
      firing: {
        what: 'every archive attempt fails for 15 minutes',
        series: archiver('0+2x20', '100x20'),
        at: '15m',
        labels: pgLabels,
      },
      silent: [
        {
          what: 'some attempts fail but segments still get archived',
          series: archiver('0+1x20', '100+1x20'),
          at: '15m',
        },
      ],
    },
    RingforgePostgresReplicationLag: {
      firing: {
        what: `a streaming standby ${params.replicationLagSeconds * 2} s behind`,
        series: standby(`${params.replicationLagSeconds * 2}x20`, '1x20'),
        at: '10m',
        labels: pgLabels,
      },
      silent: [
        {
          what: 'a streaming standby within the RPO',
          series: standby(`${params.replicationLagSeconds / 2}x20`, '1x20'),
          at: '10m',
        },
      ],
    },
    RingforgeReplicaStalled: {
      firing: {
        what: 'a standby without WAL receiver replays nothing for longer than the stall bound',
        series: standby(`${params.replicaStallSeconds + 60}x20`, '0x20', '1x20'),
        at: '10m',
        labels: pgLabels,
      },
      silent: [
        { what: 'a replica cluster restoring WAL in time', series: standby('30x20', '0x20', '1x20'), at: '10m' },
        {
          what: 'a lagging standby that still streams (RingforgePostgresReplicationLag covers it)',
          series: standby(`${params.replicaStallSeconds + 60}x20`, '1x20', '1x20'),
          at: '10m',
        },
      ],
    },
    RingforgePostgresConnectionsHigh: {
      firing: {
        what: '90 of 100 connections in use',
        series: connections('90x20'),
        at: '10m',
        labels: { [m.instance]: 'pg-1' },
      },
      silent: [{ what: '50 of 100 connections in use', series: connections('50x20'), at: '10m' }],
    },
    RingforgeRedisMemoryHigh: {
      firing: {
        what: '95% of maxmemory used',
        series: memory('95x20'),
        at: '10m',
        labels: { [m.instance]: 'valkey-0' },
      },
      silent: [{ what: 'half of maxmemory used', series: memory('50x20'), at: '10m' }],
    },
    RingforgeAvailabilityBudgetBurnFast: {
      firing: {
        what: 'half of the requests fail for an hour',
        series: requests('0+50x100', '0+50x100'),
        at: '70m',
        labels: { slo: 'availability' },
        recorded: [{ expr: 'ringforge:slo_errors:ratio_rate1h{slo="availability"}', value: 0.5 }],
      },
      silent: [
        {
          what: 'errors at the budget',
          series: requests(`0+${params.slo.maxErrorRate * 1000}x100`, `0+${1000 - params.slo.maxErrorRate * 1000}x100`),
          at: '70m',
        },
        {
          what: 'an hour of errors that stopped 20 minutes ago (the short window clears it)',
          series: requests('0+50x60 3000x20', '0+50x80'),
          at: '80m',
        },
      ],
    },
    RingforgeAvailabilityBudgetBurnSlow: {
      firing: {
        what: 'half of the requests fail for six hours',
        series: requests('0+50x400', '0+50x400'),
        at: '380m',
        labels: { slo: 'availability' },
      },
      silent: [
        {
          what: 'errors at the budget for six hours',
          series: requests(`0+${params.slo.maxErrorRate * 1000}x400`, `0+${1000 - params.slo.maxErrorRate * 1000}x400`),
          at: '380m',
        },
      ],
    },
    RingforgeLatencyBudgetBurnFast: {
      firing: {
        what: `90% of requests slower than ${params.slo.apiP95Ms} ms for an hour`,
        series: latencies('0+10x100', '0+100x100'),
        at: '70m',
        labels: { slo: 'latency' },
        recorded: [{ expr: 'ringforge:slo_errors:ratio_rate1h{slo="latency"}', value: 0.9 }],
      },
      silent: [{ what: '1% of requests slower than the SLO', series: latencies('0+99x100', '0+100x100'), at: '70m' }],
    },
    RingforgeLatencyBudgetBurnSlow: {
      firing: {
        what: `90% of requests slower than ${params.slo.apiP95Ms} ms for six hours`,
        series: latencies('0+10x400', '0+100x400'),
        at: '380m',
        labels: { slo: 'latency' },
      },
      silent: [{ what: '20% of requests slower than the SLO', series: latencies('0+80x400', '0+100x400'), at: '380m' }],
    },
  };
}
