import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { Network } from '../../.gen/providers/hcloud/network';
import { NetworkSubnet } from '../../.gen/providers/hcloud/network-subnet';

/** The servers' subnet when none is given; the load balancers' private addresses are in it. */
export const DEFAULT_SUBNET_RANGE = '10.0.1.0/24';

export interface PrivateNetworkProps {
  /** Network name, unique in the Hetzner project. */
  readonly name: string;
  /** Hetzner network zone of the subnet, e.g. `eu-central`. */
  readonly networkZone: string;
  /**
   * Address range of the whole network.
   * @default '10.0.0.0/16'
   */
  readonly ipRange?: string;
  /**
   * Address range of the servers' subnet, inside `ipRange`.
   * @default '10.0.1.0/24'
   */
  readonly subnetRange?: string;
  /** Labels of the network. */
  readonly labels: Record<string, string>;
}

/** The private network that internal traffic (database, cache, bus, cluster) stays on. */
export class PrivateNetwork extends Construct {
  readonly network: Network;
  readonly subnet: NetworkSubnet;
  readonly ipRange: string;
  readonly subnetRange: string;

  constructor(scope: Construct, id: string, props: PrivateNetworkProps) {
    super(scope, id);
    this.ipRange = props.ipRange ?? '10.0.0.0/16';
    this.subnetRange = props.subnetRange ?? DEFAULT_SUBNET_RANGE;
    this.network = new Network(this, 'Resource', {
      name: props.name,
      ipRange: this.ipRange,
      labels: props.labels,
      deleteProtection: true,
    });
    this.subnet = new NetworkSubnet(this, 'Subnet', {
      networkId: Token.asNumber(this.network.id),
      type: 'cloud',
      networkZone: props.networkZone,
      ipRange: this.subnetRange,
    });
  }

  /** The n-th host address of the subnet (n from 1), for servers that need a fixed private IP. */
  hostAddress(n: number): string {
    const [base, bits] = this.subnetRange.split('/');
    const octets = base!.split('.').map(Number);
    const size = 2 ** (32 - Number(bits));
    // .1 is the subnet's gateway on Hetzner, so hosts start at .2.
    if (n < 1 || n + 1 >= size - 1) throw new Error(`host ${n} does not fit in ${this.subnetRange}`);
    const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) + n + 1;
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
  }
}
