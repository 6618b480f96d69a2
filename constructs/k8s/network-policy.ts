import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/** Who a policy admits traffic from or to. */
export class Peer {
  /** Pods with these labels, in `namespace` or (by default) the policy's own namespace. */
  static pods(podLabels: Record<string, string>, namespace?: string): Peer {
    return new Peer({
      podSelector: { matchLabels: podLabels },
      ...(namespace ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } } : {}),
    });
  }

  /** Every pod of a namespace. */
  static namespace(namespace: string): Peer {
    return new Peer({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } });
  }

  /** Any address outside the cluster's pods, e.g. object storage or the Kubernetes API on the nodes. */
  static anyAddress(): Peer[] {
    return [new Peer({ ipBlock: { cidr: '0.0.0.0/0' } }), new Peer({ ipBlock: { cidr: '::/0' } })];
  }

  private constructor(readonly spec: k8s.NetworkPolicyPeer) {}
}

/** One direction of allowed traffic: peers and the TCP ports they use. */
export interface TrafficRule {
  readonly peers: readonly Peer[];
  readonly tcpPorts: readonly number[];
}

export interface AllowTrafficProps {
  /** Name of the NetworkPolicy. */
  readonly name: string;
  readonly namespace: string;
  /** Labels of the pods this policy applies to. */
  readonly podLabels: Record<string, string>;
  /** Traffic the pods accept. @default [] */
  readonly ingress?: readonly TrafficRule[];
  /** Traffic the pods may send. @default [] */
  readonly egress?: readonly TrafficRule[];
}

const ports = (r: TrafficRule) =>
  r.tcpPorts.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }));

/**
 * An allow rule on top of a namespace's default deny (see `RestrictedNamespace`). Policies are
 * additive, so each component states exactly what it needs and nothing else is reachable.
 */
export class AllowTraffic extends Construct {
  constructor(scope: Construct, id: string, props: AllowTrafficProps) {
    super(scope, id);
    const ingress = props.ingress ?? [];
    const egress = props.egress ?? [];
    if (ingress.length === 0 && egress.length === 0) {
      throw new Error(`network policy ${props.name} must allow some ingress or egress (got neither)`);
    }
    new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace },
      spec: {
        podSelector: { matchLabels: props.podLabels },
        policyTypes: [...(ingress.length ? ['Ingress'] : []), ...(egress.length ? ['Egress'] : [])],
        ...(ingress.length
          ? { ingress: ingress.map((r) => ({ from: r.peers.map((p) => p.spec), ports: ports(r) })) }
          : {}),
        ...(egress.length ? { egress: egress.map((r) => ({ to: r.peers.map((p) => p.spec), ports: ports(r) })) } : {}),
      },
    });
  }
}
