import { LoadBalancer } from '@cdktf/provider-cloudflare/lib/load-balancer/index.js';
import { LoadBalancerMonitor } from '@cdktf/provider-cloudflare/lib/load-balancer-monitor/index.js';
import { LoadBalancerPool } from '@cdktf/provider-cloudflare/lib/load-balancer-pool/index.js';
import { Construct } from 'constructs';

export interface RegionOrigin {
  /** Region name, used in pool names. */
  readonly name: string;
  /** Public address of the region's load balancer. */
  readonly address: string;
  /** Cloudflare geo regions (e.g. `WEU`, `EEU`, `ENAM`) whose visitors this region serves first. */
  readonly servesRegions: readonly string[];
}

export interface GeoLoadBalancerProps {
  /** Cloudflare account id (pools and monitors are account resources). */
  readonly accountId: string;
  /** Cloudflare zone id. */
  readonly zoneId: string;
  /** Public hostname the load balancer answers for. */
  readonly hostname: string;
  /** Regions in order of preference; the last healthy one takes all traffic. */
  readonly regions: readonly RegionOrigin[];
  /**
   * Readiness path probed over HTTPS on every origin.
   * @default '/api/ready'
   */
  readonly healthPath?: string;
  /** Prefix of pool and monitor names. */
  readonly namePrefix: string;
}

/**
 * Multi-region entry point: one pool per region, an HTTPS readiness monitor, geo steering that
 * sends visitors to their nearest region, and failover to the others when a pool goes unhealthy.
 */
export class GeoLoadBalancer extends Construct {
  readonly monitor: LoadBalancerMonitor;
  readonly pools: LoadBalancerPool[];
  readonly resource: LoadBalancer;

  constructor(scope: Construct, id: string, props: GeoLoadBalancerProps) {
    super(scope, id);
    if (props.regions.length < 2) throw new Error(`regions must list at least 2 regions (got ${props.regions.length})`);
    this.monitor = new LoadBalancerMonitor(this, 'Monitor', {
      accountId: props.accountId,
      description: `${props.namePrefix} readiness`,
      type: 'https',
      method: 'GET',
      path: props.healthPath ?? '/api/ready',
      expectedCodes: '200',
      header: { Host: [props.hostname] },
      interval: 60,
      timeout: 5,
      retries: 2,
      consecutiveDown: 2,
      consecutiveUp: 2,
    });
    this.pools = props.regions.map(
      (region) =>
        new LoadBalancerPool(this, `Pool-${region.name}`, {
          accountId: props.accountId,
          name: `${props.namePrefix}-${region.name}`,
          monitor: this.monitor.id,
          minimumOrigins: 1,
          origins: [
            { name: `${region.name}-lb`, address: region.address, enabled: true, header: { host: [props.hostname] } },
          ],
        }),
    );
    const poolIds = this.pools.map((p) => p.id);
    const regionPools: Record<string, string[]> = {};
    props.regions.forEach((region, i) => {
      // A region's own pool first, then the others in order of preference.
      const ordered = [poolIds[i]!, ...poolIds.filter((_, j) => j !== i)];
      for (const geo of region.servesRegions) regionPools[geo] = ordered;
    });
    this.resource = new LoadBalancer(this, 'Resource', {
      zoneId: props.zoneId,
      name: props.hostname,
      proxied: true,
      steeringPolicy: 'geo',
      defaultPools: poolIds,
      fallbackPool: poolIds[poolIds.length - 1]!,
      regionPools,
      sessionAffinity: 'cookie',
      sessionAffinityAttributes: { samesite: 'Strict', secure: 'Always', zeroDowntimeFailover: 'sticky' },
    });
  }
}
