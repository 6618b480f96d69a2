import type { MetricScope } from '../monitoring/rules.ts';
import type { Dashboard } from './builder.ts';

/** The Valkey exporter's view: which node is primary, memory, clients, commands and persistence. */
export function valkeyDashboard(scope: MetricScope): Dashboard {
  const v = scope.valkey;
  return {
    uid: 'ringforge-valkey',
    title: 'RingForge Valkey',
    description:
      'Valkey, the hub bus and rate-limit store: roles, memory, clients, command rate, replication and snapshots.',
    rows: [
      {
        title: 'Nodes',
        panels: [
          { title: 'Nodes up', kind: 'stat', queries: [{ expr: `count(redis_up{${v}} == 1)` }] },
          {
            title: 'Primaries',
            kind: 'stat',
            description: 'Exactly 1; 0 or 2 means a failover is under way or went wrong.',
            queries: [{ expr: `count(redis_instance_info{${v}, role="master"})` }],
          },
          {
            title: 'Connected replicas',
            kind: 'stat',
            queries: [{ expr: `max(redis_connected_slaves{${v}})` }],
          },
        ],
      },
      {
        title: 'Load',
        panels: [
          {
            title: 'Memory used',
            unit: 'bytes',
            queries: [
              { expr: `max by (pod) (redis_memory_used_bytes{${v}})`, legend: '{{pod}} used' },
              { expr: `max by (pod) (redis_memory_max_bytes{${v}})`, legend: '{{pod}} max' },
            ],
          },
          {
            title: 'Clients',
            queries: [{ expr: `sum by (pod) (redis_connected_clients{${v}})`, legend: '{{pod}}' }],
          },
          {
            title: 'Commands / s',
            unit: 'ops',
            queries: [{ expr: `sum by (pod) (rate(redis_commands_processed_total{${v}}[5m]))`, legend: '{{pod}}' }],
          },
          {
            title: 'Evicted keys / s',
            unit: 'ops',
            redAbove: 0,
            queries: [{ expr: `sum(rate(redis_evicted_keys_total{${v}}[5m]))`, legend: 'evicted' }],
          },
        ],
      },
      {
        title: 'Persistence',
        panels: [
          {
            title: 'Since last RDB snapshot',
            unit: 's',
            queries: [
              { expr: `time() - max by (pod) (redis_rdb_last_save_timestamp_seconds{${v}})`, legend: '{{pod}}' },
            ],
          },
          {
            title: 'Loading from disk',
            description: '1 while a node replays its AOF or RDB; it answers LOADING until done.',
            queries: [{ expr: `max by (pod) (redis_loading_dump_file{${v}})`, legend: '{{pod}}' }],
          },
        ],
      },
    ],
  };
}
