import { Construct } from 'constructs';
import { alertingSecrets, type Alerting } from '../../environments/alerting.ts';
import { alertmanagerConfig, kubernetesSecretFile } from '../monitoring/alertmanager.ts';
import { AppSource, ArgoApplication } from './argocd.ts';
import { traefikValues } from './traefik.ts';

/**
 * Helm charts of the operators tiers 2-3 run, pinned to exact versions. Bumping one is a reviewed
 * commit; ArgoCD never picks a newer chart by itself. The hcloud cloud-controller-manager and CSI
 * driver are not here: nodes cannot schedule pods (ArgoCD's included) before the CCM runs, so the
 * k3s bootstrap installs and owns them (constructs/hetzner/roles/k3s.ts).
 */
export const PLATFORM_CHARTS = {
  certManager: { repoUrl: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.19.1' },
  cloudnativePg: { repoUrl: 'https://cloudnative-pg.github.io/charts', chart: 'cloudnative-pg', version: '0.29.0' },
  barmanCloud: { repoUrl: 'https://cloudnative-pg.github.io/charts', chart: 'plugin-barman-cloud', version: '0.6.0' },
  prometheusStack: {
    repoUrl: 'https://prometheus-community.github.io/helm-charts',
    chart: 'kube-prometheus-stack',
    version: '79.5.0',
  },
  // Serves the hub's connection count to its autoscaler (constructs/k8s/hub-autoscaler.ts). KEDA,
  // not prometheus-adapter: one ScaledObject per workload instead of cluster-wide adapter rules, and
  // its chart version follows the CRDs in ../shared/crds (v2.20.2).
  keda: { repoUrl: 'https://kedacore.github.io/charts', chart: 'keda', version: '2.20.2' },
  // The Gateway API controller of the hub's public entry. Chart 41.1.0 ships Traefik v3.7.9, the
  // version of the Traefik CRDs in ../shared/crds (constructs/k8s/traefik.ts says why Traefik).
  traefik: { repoUrl: 'https://traefik.github.io/charts', chart: 'traefik', version: '41.1.0' },
} as const;

/** Namespaces the operators run in; network policies of the workloads admit them by these names. */
export const PLATFORM_NAMESPACES = {
  certManager: 'cert-manager',
  cnpg: 'cnpg-system',
  monitoring: 'monitoring',
  ingress: 'traefik',
  keda: 'keda',
  kubeSystem: 'kube-system',
} as const;

/** Sync waves: CRDs and operators first, then namespaces, data services, the hub, its monitoring. */
export const SYNC_WAVES = {
  foundation: 0,
  operators: 1,
  operatorPlugins: 2,
  namespaces: 3,
  data: 4,
  hub: 5,
  observability: 6,
} as const;

export interface PlatformOperatorsProps {
  /** Name of the Hetzner load balancer Terraform created for the ingress (`<env>[-<region>]-ingress`). */
  readonly loadBalancerName: string;
  /** Private range the load balancer's address is in: the only source of PROXY protocol headers Traefik believes. */
  readonly loadBalancerPrivateRange: string;
  /** Hetzner location of the cluster. */
  readonly location: string;
  /** Days Prometheus keeps samples: the seeds keep 30 days of metrics. @default 30 */
  readonly prometheusRetentionDays?: number;
  /** @default 'hcloud-volumes' */
  readonly storageClass?: string;
  /** Where Alertmanager sends alerts: the environment file's receivers and routes. */
  readonly alerting: Alerting;
  /** Labels Prometheus adds to every alert it sends, the kit's own and the chart's alike. */
  readonly externalLabels: { environment: string; region: string };
}

/** ArgoCD Applications for the operators, each a pinned Helm chart with the values this kit needs. */
export class PlatformOperators extends Construct {
  readonly applications: readonly ArgoApplication[];

  constructor(scope: Construct, id: string, props: PlatformOperatorsProps) {
    super(scope, id);
    const storageClass = props.storageClass ?? 'hcloud-volumes';
    const app = (
      name: string,
      chart: (typeof PLATFORM_CHARTS)[keyof typeof PLATFORM_CHARTS],
      namespace: string,
      syncWave: number,
      values: Record<string, unknown>,
      syncOptions: string[] = [],
      ownsData = false,
    ) =>
      new ArgoApplication(this, name, {
        name,
        destinationNamespace: namespace,
        syncWave,
        syncOptions,
        ownsData,
        source: AppSource.helmChart({ ...chart, releaseName: name, values }),
      });

    this.applications = [
      app('cert-manager', PLATFORM_CHARTS.certManager, PLATFORM_NAMESPACES.certManager, SYNC_WAVES.foundation, {
        crds: { enabled: true },
      }),
      app(
        'kube-prometheus-stack',
        PLATFORM_CHARTS.prometheusStack,
        PLATFORM_NAMESPACES.monitoring,
        SYNC_WAVES.foundation,
        {
          prometheus: {
            prometheusSpec: {
              // Pick up the ServiceMonitors, PodMonitors and rules of every namespace, not only the chart's.
              serviceMonitorSelectorNilUsesHelmValues: false,
              podMonitorSelectorNilUsesHelmValues: false,
              ruleSelectorNilUsesHelmValues: false,
              externalLabels: props.externalLabels,
              retention: `${props.prometheusRetentionDays ?? 30}d`,
              storageSpec: {
                volumeClaimTemplate: {
                  spec: { storageClassName: storageClass, resources: { requests: { storage: '50Gi' } } },
                },
              },
            },
          },
          alertmanager: {
            config: alertmanagerConfig(props.alerting, kubernetesSecretFile),
            // Mounted at /etc/alertmanager/secrets/<name>/; an operator creates them (runbooks/secrets.md).
            alertmanagerSpec: { secrets: alertingSecrets(props.alerting) },
          },
          grafana: { sidecar: { dashboards: { enabled: true, label: 'grafana_dashboard', searchNamespace: 'ALL' } } },
        },
        // The CRDs exceed the annotation size client-side apply needs.
        ['ServerSideApply=true'],
      ),
      // Its chart installs the Cluster CRD: deleting the CRD deletes every Cluster and, through their
      // owner references, their volumes. So this Application neither prunes nor cascades either.
      app(
        'cloudnative-pg',
        PLATFORM_CHARTS.cloudnativePg,
        PLATFORM_NAMESPACES.cnpg,
        SYNC_WAVES.operators,
        { crds: { create: true }, monitoring: { podMonitorEnabled: true } },
        [],
        true,
      ),
      app(
        'traefik',
        PLATFORM_CHARTS.traefik,
        PLATFORM_NAMESPACES.ingress,
        SYNC_WAVES.operators,
        traefikValues(props.loadBalancerName, props.location, props.loadBalancerPrivateRange),
      ),
      app('keda', PLATFORM_CHARTS.keda, PLATFORM_NAMESPACES.keda, SYNC_WAVES.operators, {}),
      // Needs cert-manager (its mTLS certificates) and the CNPG operator.
      app('barman-cloud', PLATFORM_CHARTS.barmanCloud, PLATFORM_NAMESPACES.cnpg, SYNC_WAVES.operatorPlugins, {}),
    ];
  }
}
