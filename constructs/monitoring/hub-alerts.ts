import { alertOf, type AlertingRule, type MetricScope } from './rules.ts';

/** Connected agents below which a drop is a handful of agents, not an incident. */
const CONNECTION_DROP_FLOOR = 100;
/** Share of the agents connected 5 minutes earlier that must remain. */
const CONNECTION_DROP_KEEP = 0.7;

/** Alerts on the hub's own metrics (src/hub/metrics.ts) and its scrape targets. */
export function hubAlerts(scope: MetricScope): AlertingRule[] {
  const hub = scope.hub;
  const component = { component: 'hub' };
  const alert = (a: Omit<Parameters<typeof alertOf>[1], 'labels'>) => alertOf(scope, { ...a, labels: component });
  // Answers from the public listener that mean "not ready" by design (a standby region) are not failures.
  const http = `${hub}, route!~"ready|admin.standby"`;
  return [
    alert({
      alert: 'RingforgeHubDown',
      expr: `(sum(up{${hub}}) or vector(0)) == 0`,
      for: '1m',
      severity: 'critical',
      summary: 'No hub replica answers its metrics scrape (health checks failed 3 times).',
    }),
    alert({
      alert: 'RingforgeHubReplicasDown',
      expr: `count(up{${hub}} == 0) > 0 and on () sum(up{${hub}}) > 0`,
      for: '5m',
      severity: 'warning',
      summary: 'Some hub replicas do not answer their metrics scrape; the others carry their agents.',
    }),
    alert({
      alert: 'RingforgeHub5xxRateHigh',
      expr: `sum(rate(hub_http_request_duration_seconds_count{${http}, status=~"5.."}[5m])) / sum(rate(hub_http_request_duration_seconds_count{${http}}[5m])) > 0.05`,
      for: '5m',
      severity: 'warning',
      summary: 'More than 5% of HTTP requests to the hub end in a 5xx.',
    }),
    alert({
      alert: 'RingforgeHubConnectionsDropped',
      expr: `sum(hub_connected_agents{${hub}}) < ${CONNECTION_DROP_KEEP} * sum(hub_connected_agents{${hub}} offset 5m) and on () sum(hub_connected_agents{${hub}} offset 5m) > ${CONNECTION_DROP_FLOOR}`,
      for: '2m',
      severity: 'warning',
      summary: `More than ${Math.round((1 - CONNECTION_DROP_KEEP) * 100)}% of the connected agents dropped within 5 minutes and have not come back.`,
    }),
    alert({
      alert: 'RingforgeHubDatabasePoolSaturated',
      expr: `hub_database_pool_connections{${hub}} >= hub_database_pool_max_connections{${hub}} and hub_database_pool_waiting_queries{${hub}} > 0`,
      for: '5m',
      severity: 'warning',
      summary: 'A hub replica uses every connection of its Postgres pool and queries wait for one (HUB_DB_POOL_SIZE).',
    }),
    alert({
      alert: 'RingforgeAuthFailureSpike',
      expr: `sum(rate(hub_protocol_errors_total{${hub}, code=~"unauthenticated|unauthorized"}[5m])) * 60 > 50`,
      for: '2m',
      severity: 'critical',
      summary: 'More than 50 authentication failures per minute.',
    }),
    alert({
      alert: 'RingforgeTaskTimeoutRateHigh',
      expr: `sum(rate(hub_tasks_total{${hub}, event="timed_out"}[10m])) / sum(rate(hub_tasks_total{${hub}, event="submitted"}[10m])) > 0.1`,
      for: '10m',
      severity: 'warning',
      summary: 'More than 10% of tasks time out: workers are overwhelmed.',
    }),
    alert({
      alert: 'RingforgeErrorRateHigh',
      expr: `sum(rate(hub_request_duration_seconds_count{${hub}, outcome!="ok"}[5m])) / sum(rate(hub_request_duration_seconds_count{${hub}}[5m])) > 0.05`,
      for: '5m',
      severity: 'warning',
      summary: 'More than 5% of agent requests fail.',
    }),
  ];
}
