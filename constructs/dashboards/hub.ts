import type { MetricScope } from '../monitoring/rules.ts';
import { latencyPercentiles, type Dashboard } from './builder.ts';

const rate = (metric: string, selector: string, by: string) => `sum by (${by}) (rate(${metric}{${selector}}[5m]))`;

/** The hub: its agents, what they send, how fast it answers, and the process under it. */
export function hubDashboard(scope: MetricScope): Dashboard {
  const hub = scope.hub;
  return {
    uid: 'ringforge-hub',
    title: 'RingForge hub',
    description: 'Agents, traffic, latency and errors of the hub replicas, and the Node.js process of each.',
    rows: [
      {
        title: 'Agents',
        panels: [
          { title: 'Replicas up', kind: 'stat', queries: [{ expr: `count(up{${hub}} == 1)` }] },
          { title: 'Connected agents', kind: 'stat', queries: [{ expr: `sum(hub_connected_agents{${hub}})` }] },
          {
            title: 'Database in recovery',
            kind: 'stat',
            description: '1 while the database is a standby (a standby region) and the hub refuses agents.',
            redAbove: 1,
            queries: [{ expr: `max(hub_database_in_recovery{${hub}})` }],
          },
          {
            title: 'Internal errors / s',
            kind: 'stat',
            redAbove: 0.001,
            queries: [{ expr: `sum(rate(hub_internal_errors_total{${hub}}[5m]))` }],
          },
        ],
      },
      {
        title: 'Connections',
        panels: [
          {
            title: 'Connected agents per replica',
            queries: [{ expr: `sum by (pod) (hub_connected_agents{${hub}})`, legend: '{{pod}}' }],
          },
          {
            title: 'Connections refused / s',
            description: 'Connections a limit refused or closed, by rule.',
            unit: 'reqps',
            queries: [{ expr: rate('hub_connections_refused_total', hub, 'rule'), legend: '{{rule}}' }],
          },
        ],
      },
      {
        title: 'Traffic',
        panels: [
          {
            title: 'Messages / s',
            unit: 'ops',
            queries: [{ expr: rate('hub_messages_total', hub, 'kind'), legend: '{{kind}}' }],
          },
          {
            title: 'DM deliveries / s',
            unit: 'ops',
            queries: [{ expr: `sum(rate(hub_dm_deliveries_total{${hub}}[5m]))`, legend: 'delivered' }],
          },
          {
            title: 'Task events / s',
            unit: 'ops',
            queries: [{ expr: rate('hub_tasks_total', hub, 'event'), legend: '{{event}}' }],
          },
        ],
      },
      {
        title: 'Latency and errors',
        panels: [
          {
            title: 'Request latency',
            unit: 's',
            queries: latencyPercentiles('hub_request_duration_seconds_bucket', hub, ['type']),
          },
          {
            title: 'Failed requests / s',
            unit: 'reqps',
            queries: [
              {
                expr: `sum by (outcome) (rate(hub_request_duration_seconds_count{${hub}, outcome!="ok"}[5m]))`,
                legend: '{{outcome}}',
              },
            ],
          },
          {
            title: 'Error replies / s',
            unit: 'reqps',
            queries: [{ expr: rate('hub_protocol_errors_total', hub, 'code'), legend: '{{code}}' }],
          },
        ],
      },
      {
        title: 'Process',
        panels: [
          {
            title: 'Resident memory',
            unit: 'bytes',
            queries: [{ expr: `sum by (pod) (hub_process_resident_memory_bytes{${hub}})`, legend: '{{pod}}' }],
          },
          {
            title: 'Event loop lag p99',
            unit: 's',
            redAbove: 0.1,
            queries: [{ expr: `max by (pod) (hub_nodejs_eventloop_lag_p99_seconds{${hub}})`, legend: '{{pod}}' }],
          },
          {
            title: 'Database pool',
            description: 'Connections held against the pool size, and queries waiting for one.',
            queries: [
              { expr: `sum(hub_database_pool_connections{${hub}})`, legend: 'held' },
              { expr: `sum(hub_database_pool_max_connections{${hub}})`, legend: 'max' },
              { expr: `sum(hub_database_pool_waiting_queries{${hub}})`, legend: 'waiting' },
            ],
          },
          {
            title: 'Unsent bytes',
            description: 'Bytes written to agent sockets that the kernel has not taken: slow readers.',
            unit: 'bytes',
            queries: [{ expr: `sum by (pod) (hub_outbound_buffered_bytes{${hub}})`, legend: '{{pod}}' }],
          },
        ],
      },
    ],
  };
}
