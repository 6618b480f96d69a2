import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { Environment } from '../../environments/schema.ts';
import { ringforgeDashboards } from '../dashboards/index.ts';
import { ringforgeRuleGroups, type RingforgeRuleParams } from '../monitoring/ringforge-rules.ts';
import type { MetricScope } from '../monitoring/rules.ts';
import { appLabels } from './labels.ts';
import { PLATFORM_NAMESPACES } from './platform.ts';

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
  /** Name of the Postgres cluster's PodMonitor (in dataNamespace), which names its scrape job. */
  readonly postgresPodMonitor: string;
  /** Environment and region stamped on every alert, for routing and inhibition. */
  readonly environment: string;
  readonly region: string;
  /** Thresholds from the environment file. */
  readonly ruleParams: RingforgeRuleParams;
  /** The environment's SLOs, which the SLO dashboard charts against. */
  readonly slo: Environment['slo'];
  /** Label the Grafana sidecar of kube-prometheus-stack discovers dashboards by. @default 'grafana_dashboard' */
  readonly dashboardLabel?: string;
}

const VALKEY_POD_MONITOR = 'valkey';

/**
 * Where Prometheus's series come from on Kubernetes: the hub's ServiceMonitor and the PodMonitors
 * of the data services, whose scrape jobs prometheus-operator names `<namespace>/<PodMonitor>`.
 */
export function kubernetesScope(
  props: Pick<HubObservabilityProps, 'namespace' | 'dataNamespace' | 'postgresPodMonitor' | 'environment' | 'region'>,
): MetricScope {
  return {
    hub: `namespace="${props.namespace}", service="hub"`,
    postgres: `namespace="${props.dataNamespace}", job="${props.dataNamespace}/${props.postgresPodMonitor}"`,
    valkey: `namespace="${props.dataNamespace}", job="${props.dataNamespace}/${VALKEY_POD_MONITOR}"`,
    environment: props.environment,
    region: props.region,
  };
}

/** ServiceMonitor for the hub, PrometheusRule with the RingForge alerts, PodMonitor for Valkey, the five dashboards. */
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
        groups: ringforgeRuleGroups(kubernetesScope(props), props.ruleParams).map((g) => ({
          ...g,
          rules: [...g.rules],
        })),
      },
    };
    new ApiObject(this, 'Alerts', rule);

    const valkeyMonitor: IPodMonitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: VALKEY_POD_MONITOR, namespace: props.dataNamespace, labels },
      spec: { selector: { matchLabels: props.valkeySelector }, podMetricsEndpoints: [{ port: 'metrics' }] },
    };
    new ApiObject(this, 'ValkeyMetrics', valkeyMonitor);

    new k8s.KubeConfigMap(this, 'Dashboard', {
      metadata: {
        name: 'ringforge-dashboards',
        namespace: props.namespace,
        labels: { ...labels, [props.dashboardLabel ?? 'grafana_dashboard']: '1' },
      },
      data: Object.fromEntries(
        Object.entries(
          ringforgeDashboards(
            { ...kubernetesScope(props), edge: `namespace="${PLATFORM_NAMESPACES.ingress}"` },
            props.slo,
          ),
        ).map(([file, dashboard]) => [file, JSON.stringify(dashboard, null, 2)]),
      ),
    });
  }
}
