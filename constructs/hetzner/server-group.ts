import { Fn, Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { PlacementGroup } from '../../.gen/providers/hcloud/placement-group';
import { PrimaryIp } from '../../.gen/providers/hcloud/primary-ip';
import { Rdns } from '../../.gen/providers/hcloud/rdns';
import { Server } from '../../.gen/providers/hcloud/server';
import type { SshKey } from '../../.gen/providers/hcloud/ssh-key';
import { Volume } from '../../.gen/providers/hcloud/volume';
import type { PrivateNetwork } from './private-network.ts';

export interface ServerGroupProps {
  /** Name prefix; servers are named `<prefix>-<n>`. */
  readonly namePrefix: string;
  /** Number of servers. */
  readonly count: number;
  /** Hetzner server type, e.g. `cx33`. */
  readonly serverType: string;
  /** Hetzner location, e.g. `fsn1`. */
  readonly location: string;
  /** SSH keys installed for root; password login stays disabled. */
  readonly sshKeys: readonly SshKey[];
  /** cloud-init user data of the n-th server (n from 1). */
  readonly userData: (n: number) => string;
  /** Labels of every server; firewalls and load balancers select servers by these. */
  readonly labels: Record<string, string>;
  /**
   * Private network to attach to, with the host number of the first server in its subnet.
   * @default - public network only
   */
  readonly network?: { readonly network: PrivateNetwork; readonly firstHost: number };
  /**
   * Size of a data volume attached to each server, formatted ext4 and mounted by cloud-init.
   * @default - no volume
   */
  readonly volumeSizeGb?: number;
  /**
   * Give each server primary IPs of its own (so its addresses survive a rebuild) with this reverse
   * DNS name for the n-th server.
   * @default - addresses come and go with the server, no reverse DNS
   */
  readonly reverseDns?: (n: number) => string;
  /**
   * OS image.
   * @default 'debian-12'
   */
  readonly image?: string;
  /**
   * Protect servers (and their volumes and IPs) from deletion and rebuild; stateful roles want this.
   * @default false
   */
  readonly protect?: boolean;
}

export interface GroupMember {
  readonly server: Server;
  /** Fixed private address, when the group is on a private network. */
  readonly privateIp?: string;
  readonly volume?: Volume;
  readonly ipv4?: PrimaryIp;
  readonly ipv6?: PrimaryIp;
}

/**
 * Servers of one role. Two or more are spread over physical hosts by a placement group, so one
 * host failure takes out at most one of them.
 */
export class ServerGroup extends Construct {
  readonly members: GroupMember[];
  readonly placementGroup?: PlacementGroup;

  constructor(scope: Construct, id: string, props: ServerGroupProps) {
    super(scope, id);
    if (!Number.isInteger(props.count) || props.count < 1) {
      throw new Error(`count must be an integer >= 1 (got ${props.count})`);
    }
    if (props.sshKeys.length === 0) throw new Error(`sshKeys must list at least one key for ${props.namePrefix}`);
    if (props.volumeSizeGb !== undefined && (props.volumeSizeGb < 10 || props.volumeSizeGb > 10240)) {
      throw new Error(`volumeSizeGb must be between 10 and 10240 (got ${props.volumeSizeGb})`);
    }
    const protect = props.protect ?? false;
    if (props.count > 1) {
      this.placementGroup = new PlacementGroup(this, 'Spread', {
        name: `${props.namePrefix}-spread`,
        type: 'spread',
        labels: props.labels,
      });
    }

    this.members = Array.from({ length: props.count }, (_, i) => {
      const n = i + 1;
      const name = `${props.namePrefix}-${n}`;
      const primary = (type: 'ipv4' | 'ipv6') =>
        new PrimaryIp(this, `${type === 'ipv4' ? 'Ipv4' : 'Ipv6'}${n}`, {
          name: `${name}-${type}`,
          type,
          location: props.location,
          autoDelete: false,
          deleteProtection: protect,
          labels: props.labels,
        });
      const ipv4 = props.reverseDns ? primary('ipv4') : undefined;
      const ipv6 = props.reverseDns ? primary('ipv6') : undefined;
      const privateIp = props.network?.network.hostAddress(props.network.firstHost + i);
      const dependsOn: ITerraformDependable[] = props.network ? [props.network.network.subnet] : [];

      const server = new Server(this, `Server${n}`, {
        name,
        serverType: props.serverType,
        location: props.location,
        image: props.image ?? 'debian-12',
        sshKeys: props.sshKeys.map((k) => k.id),
        userData: props.userData(n),
        labels: props.labels,
        placementGroupId: this.placementGroup ? Token.asNumber(this.placementGroup.id) : undefined,
        deleteProtection: protect,
        rebuildProtection: protect,
        publicNet: [
          {
            ipv4Enabled: true,
            ipv6Enabled: true,
            ipv4: ipv4 ? Token.asNumber(ipv4.id) : undefined,
            ipv6: ipv6 ? Token.asNumber(ipv6.id) : undefined,
          },
        ],
        network: props.network
          ? [{ networkId: Token.asNumber(props.network.network.network.id), ip: privateIp }]
          : undefined,
        dependsOn,
        // user_data changes would replace the server; roll them out deliberately instead.
        lifecycle: { ignoreChanges: ['user_data', 'image', 'ssh_keys'] },
      });

      if (props.reverseDns && ipv4 && ipv6) {
        new Rdns(this, `Rdns4-${n}`, {
          primaryIpId: Token.asNumber(ipv4.id),
          ipAddress: ipv4.ipAddress,
          dnsPtr: props.reverseDns(n),
        });
        new Rdns(this, `Rdns6-${n}`, {
          primaryIpId: Token.asNumber(ipv6.id),
          // Hetzner assigns a /64; the server answers on ::1 of it.
          ipAddress: Fn.cidrhost(ipv6.ipNetwork, 1),
          dnsPtr: props.reverseDns(n),
        });
      }

      const volume =
        props.volumeSizeGb === undefined
          ? undefined
          : new Volume(this, `Volume${n}`, {
              name: `${name}-data`,
              size: props.volumeSizeGb,
              serverId: Token.asNumber(server.id),
              format: 'ext4',
              automount: true,
              deleteProtection: protect,
              labels: props.labels,
            });
      return { server, privateIp, volume, ipv4, ipv6 };
    });
  }

  get servers(): Server[] {
    return this.members.map((m) => m.server);
  }
}
