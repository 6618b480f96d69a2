import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { LoadBalancer } from '../../.gen/providers/hcloud/load-balancer';
import { LoadBalancerNetwork } from '../../.gen/providers/hcloud/load-balancer-network';
import { LoadBalancerService } from '../../.gen/providers/hcloud/load-balancer-service';
import { LoadBalancerTargetA as LoadBalancerTarget } from '../../.gen/providers/hcloud/load-balancer-target';
import type { PrivateNetwork } from './private-network.ts';

/**
 * How the load balancer handles traffic. A class with factories because the two shapes share
 * nothing: one forwards TLS to proxies on the hub servers, the other leaves services and targets to
 * the cluster.
 */
export class HubListener {
  /**
   * Forward TCP 443 untouched to the proxy on each hub server selected by label, which terminates
   * TLS and checks Cloudflare's origin-pull certificate: a load balancer that terminated TLS itself
   * could not ask for a client certificate, so anyone with its address would skip the edge.
   */
  static passTls(props: {
    /** Label selector of the hub servers. */
    readonly targetSelector: string;
    /** Port the proxy on each hub server takes TLS on. */
    readonly proxyPort: number;
    /** Port of the hub's public listener, health-checked over the private network. */
    readonly hubPort: number;
    /**
     * Readiness path polled on every target's hub.
     * @default '/api/ready'
     */
    readonly healthCheckPath?: string;
  }): HubListener {
    for (const [name, port] of [
      ['proxyPort', props.proxyPort],
      ['hubPort', props.hubPort],
    ] as const) {
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new Error(`${name} must be an integer between 1 and 65535 (got ${port})`);
    }
    return new HubListener('passthrough', props);
  }

  /**
   * Leave services and targets to the hcloud cloud-controller-manager: the cluster's ingress
   * Service adopts this load balancer by name (annotation `load-balancer.hetzner.cloud/name`).
   */
  static managedByCluster(): HubListener {
    return new HubListener('cluster', undefined);
  }

  private constructor(
    readonly kind: 'passthrough' | 'cluster',
    readonly passthrough: Parameters<typeof HubListener.passTls>[0] | undefined,
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

    const pass = props.listener.passthrough;
    if (!pass) return;
    new LoadBalancerTarget(this, 'Targets', {
      loadBalancerId: Token.asNumber(this.resource.id),
      type: 'label_selector',
      labelSelector: pass.targetSelector,
      usePrivateIp: true,
      dependsOn: [attachment],
    });
    // No sticky sessions in TCP mode: a reconnecting agent resumes on whichever hub it reaches.
    new LoadBalancerService(this, 'Tls', {
      loadBalancerId: this.resource.id,
      protocol: 'tcp',
      listenPort: 443,
      destinationPort: pass.proxyPort,
      healthCheck: {
        protocol: 'http',
        port: pass.hubPort,
        interval: 10,
        timeout: 5,
        retries: 3,
        http: { path: pass.healthCheckPath ?? '/api/ready', statusCodes: ['200'] },
      },
    });
  }
}
