import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';

export interface RestrictedNamespaceProps {
  readonly name: string;
  /** Extra namespace labels (e.g. for network policy selectors). @default {} */
  readonly labels?: Record<string, string>;
}

const DNS_PORT = 53;

/**
 * A namespace where Pod Security admission enforces the `restricted` profile, every pod starts with
 * all traffic denied, and DNS to kube-system is the only thing allowed by default. Components add
 * what they need with `AllowTraffic`.
 */
export class RestrictedNamespace extends Construct {
  readonly name: string;

  constructor(scope: Construct, id: string, props: RestrictedNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name: props.name,
        labels: {
          ...props.labels,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny', namespace: props.name },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: { name: 'allow-dns', namespace: props.name },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: ['UDP', 'TCP'].map((protocol) => ({ protocol, port: k8s.IntOrString.fromNumber(DNS_PORT) })),
          },
        ],
      },
    });
  }
}
