import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels } from './labels.ts';

export interface HubObservabilityProps {
  /** Namespace of the hub (its Service, ServiceMonitor, rules and dashboard). */
  readonly namespace: string;
  /** Labels of the hub Service and pods. */
  readonly hubSelector: Record<string, string>;
  /** Name of the hub Service port serving /metrics: the operations listener, not the public one. @default 'admin' */
  readonly metricsPort?: string;
  /** Namespace of the data services, for their alerts. */
  readonly dataNamespace: string;
  /** Labels of the Valkey pods, whose exporter sidecar serves `metrics`. */
  readonly valkeySelector: Record<string, string>;
  /** Label the Grafana sidecar of kube-prometheus-stack discovers dashboards by. @default 'grafana_dashboard' */
  readonly dashboardLabel?: string;
}

type Alert = { alert: string; expr: string; for: string; severity: 'critical' | 'warning'; summary: string };

/** The RingForge plan's alerts (§7.2), on the hub's own metrics and the data services' exporters. */
export function ringforgeAlerts(hubNamespace: string, dataNamespace: string): Alert[] {
  const hub = `namespace="${hubNamespace}"`;
  const data = `namespace="${dataNamespace}"`;
  return [
    {
      alert: 'RingforgeHubDown',
      expr: `sum(up{${hub}, service="hub"}) == 0 or absent(up{${hub}, service="hub"})`,
      for: '1m',
      severity: 'critical',
      summary: 'No hub replica answers its metrics scrape (health checks failed 3 times).',
    },
    {
      alert: 'RingforgePostgresConnectionsHigh',
      expr: `max by (pod) (sum by (pod) (cnpg_backends_total{${data}}) / on (pod) max by (pod) (cnpg_pg_settings_setting{${data}, name="max_connections"})) > 0.8`,
      for: '5m',
      severity: 'warning',
      summary: 'Postgres uses more than 80% of max_connections: pool exhaustion risk.',
    },
    {
      alert: 'RingforgeRedisMemoryHigh',
      expr: `max by (pod) (redis_memory_used_bytes{${data}} / redis_memory_max_bytes{${data}}) > 0.9`,
      for: '5m',
      severity: 'warning',
      summary: 'Valkey uses more than 90% of maxmemory: writes will be refused.',
    },
    {
      alert: 'RingforgeAuthFailureSpike',
      expr: `sum(rate(hub_protocol_errors_total{${hub}, code=~"unauthenticated|unauthorized"}[5m])) * 60 > 50`,
      for: '2m',
      severity: 'critical',
      summary: 'More than 50 authentication failures per minute.',
    },
    {
      alert: 'RingforgeTaskTimeoutRateHigh',
      expr: `sum(rate(hub_tasks_total{${hub}, event="timed_out"}[10m])) / sum(rate(hub_tasks_total{${hub}, event="submitted"}[10m])) > 0.1`,
      for: '10m',
      severity: 'warning',
      summary: 'More than 10% of tasks time out: workers are overwhelmed.',
    },
    {
      alert: 'RingforgeErrorRateHigh',
      expr: `sum(rate(hub_request_duration_seconds_count{${hub}, outcome!="ok"}[5m])) / sum(rate(hub_request_duration_seconds_count{${hub}}[5m])) > 0.05`,
      for: '5m',
      severity: 'warning',
      summary: 'More than 5% of agent requests fail.',
    },
  ];
}

const panel = (id: number, title: string, expr: string, x: number, y: number) => ({
  id,
  title,
  type: 'timeseries',
  gridPos: { h: 8, w: 12, x, y },
  datasource: { type: 'prometheus', uid: '${datasource}' },
  targets: [{ expr, refId: 'A' }],
});

/** The fleet overview dashboard (RingForge plan §7.1), as Grafana JSON. */
export function hubDashboard(namespace: string): object {
  const ns = `namespace="${namespace}"`;
  return {
    title: 'RingForge hub',
    uid: 'ringforge-hub',
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', current: { text: 'Prometheus' } }],
    },
    panels: [
      panel(1, 'Connected agents', `sum by (pod) (hub_connected_agents{${ns}})`, 0, 0),
      panel(2, 'Messages / s', `sum by (kind) (rate(hub_messages_total{${ns}}[5m]))`, 12, 0),
      panel(
        3,
        'Request latency p95',
        `histogram_quantile(0.95, sum by (le, type) (rate(hub_request_duration_seconds_bucket{${ns}}[5m])))`,
        0,
        8,
      ),
      panel(
        4,
        'Failed requests / s',
        `sum by (outcome) (rate(hub_request_duration_seconds_count{${ns}, outcome!="ok"}[5m]))`,
        12,
        8,
      ),
      panel(5, 'Tasks / s', `sum by (event) (rate(hub_tasks_total{${ns}}[5m]))`, 0, 16),
      panel(6, 'Replicas', `count(up{${ns}, service="hub"} == 1)`, 12, 16),
    ],
  };
}

/** ServiceMonitor for the hub, PrometheusRule with the plan's alerts, PodMonitor for Valkey, a dashboard. */
export class HubObservability extends Construct {
  constructor(scope: Construct, id: string, props: HubObservabilityProps) {
    super(scope, id);
    const labels = appLabels('hub', 'monitoring');
    const serviceMonitor: IServiceMonitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'hub', namespace: props.namespace, labels },
      spec: {
        selector: { matchLabels: props.hubSelector },
        endpoints: [{ port: props.metricsPort ?? 'admin', path: '/metrics', interval: '15s' }],
      },
    };
    new ApiObject(this, 'Resource', serviceMonitor);

    const rule: IPrometheusRule = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'ringforge', namespace: props.namespace, labels },
      spec: {
        groups: [
          {
            name: 'ringforge',
            rules: ringforgeAlerts(props.namespace, props.dataNamespace).map((a) => ({
              alert: a.alert,
              expr: a.expr,
              for: a.for,
              labels: { severity: a.severity },
              annotations: { summary: a.summary },
            })),
          },
        ],
      },
    };
    new ApiObject(this, 'Alerts', rule);

    const valkeyMonitor: IPodMonitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'valkey', namespace: props.dataNamespace, labels },
      spec: { selector: { matchLabels: props.valkeySelector }, podMetricsEndpoints: [{ port: 'metrics' }] },
    };
    new ApiObject(this, 'ValkeyMetrics', valkeyMonitor);

    new k8s.KubeConfigMap(this, 'Dashboard', {
      metadata: {
        name: 'ringforge-dashboard',
        namespace: props.namespace,
        labels: { ...labels, [props.dashboardLabel ?? 'grafana_dashboard']: '1' },
      },
      data: { 'ringforge-hub.json': JSON.stringify(hubDashboard(props.namespace), null, 2) },
    });
  }
}
