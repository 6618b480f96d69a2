import { Construct } from 'constructs';
import { ScaledObject } from '../../imports/keda.sh.ts';

/** The in-cluster Prometheus of kube-prometheus-stack (release `kube-prometheus-stack` in `monitoring`). */
export const CLUSTER_PROMETHEUS_URL = 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090';

/** The gauge each hub exports with the agents connected to it (src/hub/metrics.ts). */
export const HUB_CONNECTIONS_METRIC = 'hub_connected_agents';

/**
 * Agents connected to all hub pods of a namespace, as Prometheus scrapes them through the hub's
 * ServiceMonitor (whose `job` label is the Service name). KEDA divides it by the replica count
 * (`AverageValue`), so the threshold is per pod.
 */
export const hubConnectionsQuery = (namespace: string, service: string): string =>
  `sum(${HUB_CONNECTIONS_METRIC}{namespace="${namespace}", job="${service}"})`;

export interface HubAutoscalerProps {
  readonly namespace: string;
  /** The Deployment it scales, also the hub Service's name. */
  readonly deploymentName: string;
  readonly labels: Record<string, string>;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Agents per pod the autoscaler aims for. */
  readonly targetConnectionsPerReplica: number;
  /** @default CLUSTER_PROMETHEUS_URL */
  readonly prometheusUrl?: string;
}

/**
 * A KEDA ScaledObject for the hub: KEDA creates and owns the HorizontalPodAutoscaler and serves it
 * the connection count from Prometheus through the external metrics API, which nothing else in the
 * cluster provides. CPU and memory stay triggers too; while the Prometheus query fails, the HPA
 * keeps scaling on them and does not scale down.
 */
export class HubAutoscaler extends Construct {
  constructor(scope: Construct, id: string, props: HubAutoscalerProps) {
    super(scope, id);
    new ScaledObject(this, 'Resource', {
      metadata: { name: props.deploymentName, namespace: props.namespace, labels: props.labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: props.deploymentName },
        minReplicaCount: props.minReplicas,
        maxReplicaCount: props.maxReplicas,
        pollingInterval: 30,
        triggers: [
          { type: 'cpu', metricType: 'Utilization', metadata: { value: '70' } },
          { type: 'memory', metricType: 'Utilization', metadata: { value: '80' } },
          {
            type: 'prometheus',
            name: 'connected-agents',
            metricType: 'AverageValue',
            metadata: {
              serverAddress: props.prometheusUrl ?? CLUSTER_PROMETHEUS_URL,
              query: hubConnectionsQuery(props.namespace, props.deploymentName),
              threshold: String(props.targetConnectionsPerReplica),
              // No series (Prometheus lost the hubs) is an error, not zero agents: scaling down then would drop them.
              ignoreNullValues: 'false',
            },
          },
        ],
        advanced: {
          horizontalPodAutoscalerConfig: {
            name: props.deploymentName,
            // RingForge plan §4.3: add at most 2 pods per 5 minutes, remove at most 1 per 5 minutes
            // after 10 quiet minutes, so reconnect storms do not thrash the fleet.
            behavior: {
              scaleUp: {
                stabilizationWindowSeconds: 180,
                policies: [{ type: 'Pods', value: 2, periodSeconds: 300 }],
              },
              scaleDown: {
                stabilizationWindowSeconds: 600,
                policies: [{ type: 'Pods', value: 1, periodSeconds: 300 }],
              },
            },
          },
        },
      },
    });
  }
}
