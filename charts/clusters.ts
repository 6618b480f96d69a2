import { primaryRegionOf, type HetznerEnvironment, type Region } from '../environments/index.ts';
import { CLUSTER_CIDR, gitopsPath } from '../stacks/infra/k3s.ts';

/** One k3s cluster of an environment: tier 2 has one, tier 3 one per region. */
export interface ClusterTarget {
  readonly env: HetznerEnvironment;
  readonly region: Region;
  /** The region holding the Postgres primary (`primaryRegion`); the others run replica clusters. */
  readonly primaryRegion: Region;
  /** Folder the cluster's bootstrap root Application syncs, relative to the repository. */
  readonly gitopsPath: string;
  /** Name of the Hetzner load balancer Terraform created for the cluster's ingress. */
  readonly loadBalancerName: string;
  /** The cluster's pod CIDR, where the ingress controller's pods (the hub's proxies) get their addresses. */
  readonly podCidr: string;
}

/** Namespaces of the RingForge workloads. */
export const NAMESPACES = { hub: 'ringforge', data: 'ringforge-data' } as const;

/** Tiers whose clusters are described by these charts (tiers 0-1 have no Kubernetes). */
export const KUBERNETES_TIERS: readonly number[] = [2, 3];

export function clusterTargets(env: HetznerEnvironment): ClusterTarget[] {
  if (!KUBERNETES_TIERS.includes(env.tier)) return [];
  const multiRegion = env.regions.length > 1;
  const primaryRegion = primaryRegionOf(env);
  return env.regions.map((region) => ({
    env,
    region,
    primaryRegion,
    gitopsPath: gitopsPath(env.name, region.name, env.regions.length),
    loadBalancerName: multiRegion ? `${env.name}-${region.name}-ingress` : `${env.name}-ingress`,
    podCidr: CLUSTER_CIDR,
  }));
}
