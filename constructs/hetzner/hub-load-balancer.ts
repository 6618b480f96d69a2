import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { LoadBalancer } from '../../.gen/providers/hcloud/load-balancer';
import { LoadBalancerNetwork } from '../../.gen/providers/hcloud/load-balancer-network';
import { LoadBalancerService } from '../../.gen/providers/hcloud/load-balancer-service';
import { LoadBalancerTargetA as LoadBalancerTarget } from '../../.gen/providers/hcloud/load-balancer-target';
import type { PrivateNetwork } from './private-network.ts';

/**
 * How the load balancer handles traffic. A class with factories because the two shapes share
 * nothing: one terminates TLS itself, the other leaves services and targets to the cluster.
 */
export class HubListener {
  /**
   * Terminate TLS on the load balancer with the given certificates and forward HTTP to the hub
   * servers selected by label, with sticky sessions so a reconnecting agent returns to its replica.
   */
  static terminateTls(props: {
    /** hcloud certificate ids served on 443. */
    readonly certificateIds: readonly (string | number)[];
    /** Label selector of the hub servers. */
    readonly targetSelector: string;
    /** Port the hub listens on. */
    readonly destinationPort: number;
    /**
     * Seconds an idle connection stays open; WebSocket heartbeats must come more often than this.
     * @default 300
     */
    readonly timeoutIdleSeconds?: number;
    /**
     * Liveness path polled on every target.
     * @default '/api/health'
     */
    readonly healthCheckPath?: string;
  }): HubListener {
    return new HubListener('tls', props);
  }

  /**
   * Leave services and targets to the hcloud cloud-controller-manager: the cluster's ingress
   * Service adopts this load balancer by name (annotation `load-balancer.hetzner.cloud/name`).
   */
  static managedByCluster(): HubListener {
    return new HubListener('cluster', undefined);
  }

  private constructor(
    readonly kind: 'tls' | 'cluster',
    readonly tls: Parameters<typeof HubListener.terminateTls>[0] | undefined,
  ) {}
}

export interface HubLoadBalancerProps {
  /** Load balancer name; the cluster adopts it by this name. */
  readonly name: string;
  /**
   * Hetzner load balancer type.
   * @default 'lb11'
   */
  readonly type?: string;
  /** Hetzner location. */
  readonly location: string;
  /** Private network the load balancer reaches its targets on. */
  readonly network: PrivateNetwork;
  /** Private address of the load balancer in the network. */
  readonly privateIp: string;
  /** What the load balancer does with traffic. */
  readonly listener: HubListener;
  /** Labels of the load balancer. */
  readonly labels: Record<string, string>;
}

/** The public entry point of a tier 1-2 region; Cloudflare proxies to its addresses. */
export class HubLoadBalancer extends Construct {
  readonly resource: LoadBalancer;

  constructor(scope: Construct, id: string, props: HubLoadBalancerProps) {
    super(scope, id);
    this.resource = new LoadBalancer(this, 'Resource', {
      name: props.name,
      loadBalancerType: props.type ?? 'lb11',
      location: props.location,
      labels: props.labels,
      algorithm: { type: 'least_connections' },
      deleteProtection: true,
    });
    const attachment = new LoadBalancerNetwork(this, 'Network', {
      loadBalancerId: Token.asNumber(this.resource.id),
      networkId: Token.asNumber(props.network.network.id),
      ip: props.privateIp,
      dependsOn: [props.network.subnet],
    });

    const tls = props.listener.tls;
    if (!tls) return;
    if (tls.certificateIds.length === 0)
      throw new Error('certificateIds must list at least one certificate (got none)');
    const idle = tls.timeoutIdleSeconds ?? 300;
    if (idle < 30 || idle > 3600) throw new Error(`timeoutIdleSeconds must be between 30 and 3600 (got ${idle})`);

    new LoadBalancerTarget(this, 'Targets', {
      loadBalancerId: Token.asNumber(this.resource.id),
      type: 'label_selector',
      labelSelector: tls.targetSelector,
      usePrivateIp: true,
      dependsOn: [attachment],
    });
    new LoadBalancerService(this, 'Https', {
      loadBalancerId: this.resource.id,
      protocol: 'https',
      listenPort: 443,
      destinationPort: tls.destinationPort,
      http: {
        certificates: tls.certificateIds.map((c) => Token.asNumber(c)),
        redirectHttp: true,
        stickySessions: true,
        cookieName: 'RINGFORGE_LB',
        cookieLifetime: 3600,
        timeoutIdle: idle,
      },
      healthCheck: {
        protocol: 'http',
        port: tls.destinationPort,
        interval: 10,
        timeout: 5,
        retries: 3,
        http: { path: tls.healthCheckPath ?? '/api/health', statusCodes: ['200'] },
      },
    });
  }
}
