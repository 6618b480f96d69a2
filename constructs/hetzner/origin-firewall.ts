import { Construct } from 'constructs';
import { Firewall, type FirewallRule } from '../../.gen/providers/hcloud/firewall';

export interface OriginFirewallProps {
  /** Firewall name, unique in the Hetzner project. */
  readonly name: string;
  /** Label selector of the servers the firewall applies to. */
  readonly appliesTo: string;
  /** Networks admitted to SSH. Never the whole internet. */
  readonly adminCidrs: readonly string[];
  /**
   * Further TCP ports admitted from admin networks only, e.g. `6443` for the Kubernetes API.
   * @default - none
   */
  readonly adminPorts?: readonly string[];
  /**
   * Sources admitted to HTTP and HTTPS, usually Cloudflare's published ranges.
   * @default - no web ports are opened
   */
  readonly webSources?: string[];
  /** Labels of the firewall itself. */
  readonly labels: Record<string, string>;
}

const WORLD = ['0.0.0.0/0', '::/0'];

/**
 * Inbound firewall of a server: SSH (and any admin ports) from admin networks only, web ports only
 * from the given sources (Cloudflare), everything else closed. Hetzner firewalls deny what no rule
 * admits, and filter public interfaces only: private network traffic is not affected.
 */
export class OriginFirewall extends Construct {
  readonly resource: Firewall;

  constructor(scope: Construct, id: string, props: OriginFirewallProps) {
    super(scope, id);
    const open = props.adminCidrs.filter((c) => WORLD.includes(c));
    if (open.length > 0) {
      throw new Error(`adminCidrs must not include the whole internet (got ${open.join(', ')})`);
    }
    if (props.adminCidrs.length === 0) throw new Error('adminCidrs must list at least one network (got none)');

    const rules: FirewallRule[] = [
      {
        description: 'SSH from admin networks',
        direction: 'in',
        protocol: 'tcp',
        port: '22',
        sourceIps: [...props.adminCidrs],
      },
      { description: 'ICMP from admin networks', direction: 'in', protocol: 'icmp', sourceIps: [...props.adminCidrs] },
    ];
    for (const port of props.adminPorts ?? []) {
      rules.push({
        description: `port ${port} from admin networks`,
        direction: 'in',
        protocol: 'tcp',
        port,
        sourceIps: [...props.adminCidrs],
      });
    }
    if (props.webSources) {
      for (const port of ['80', '443']) {
        rules.push({
          description: `port ${port} from the edge`,
          direction: 'in',
          protocol: 'tcp',
          port,
          sourceIps: props.webSources,
        });
      }
    }
    this.resource = new Firewall(this, 'Resource', {
      name: props.name,
      labels: props.labels,
      rule: rules,
      applyTo: [{ labelSelector: props.appliesTo }],
    });
  }
}
