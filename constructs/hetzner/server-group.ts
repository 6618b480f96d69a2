import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { PlacementGroup } from '../../.gen/providers/hcloud/placement-group';
import { Server } from '../../.gen/providers/hcloud/server';
import type { SshKey } from '../../.gen/providers/hcloud/ssh-key';

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
  /** cloud-init user data. */
  readonly userData: string;
  /** Labels of every server; firewalls attach by these. */
  readonly labels: Record<string, string>;
  /**
   * OS image.
   * @default 'debian-12'
   */
  readonly image?: string;
  /**
   * Protect servers from deletion and rebuild; stateful roles want this.
   * @default false
   */
  readonly protect?: boolean;
}

/**
 * Servers of one role. Two or more are spread over physical hosts by a placement group, so one
 * host failure takes out at most one of them.
 */
export class ServerGroup extends Construct {
  readonly servers: Server[];
  readonly placementGroup?: PlacementGroup;

  constructor(scope: Construct, id: string, props: ServerGroupProps) {
    super(scope, id);
    if (!Number.isInteger(props.count) || props.count < 1) {
      throw new Error(`count must be an integer >= 1 (got ${props.count})`);
    }
    if (props.sshKeys.length === 0) throw new Error(`sshKeys must list at least one key for ${props.namePrefix}`);
    if (props.count > 1) {
      this.placementGroup = new PlacementGroup(this, 'Spread', {
        name: `${props.namePrefix}-spread`,
        type: 'spread',
        labels: props.labels,
      });
    }
    this.servers = Array.from({ length: props.count }, (_, i) => {
      const protect = props.protect ?? false;
      return new Server(this, `Server${i + 1}`, {
        name: `${props.namePrefix}-${i + 1}`,
        serverType: props.serverType,
        location: props.location,
        image: props.image ?? 'debian-12',
        sshKeys: props.sshKeys.map((k) => k.id),
        userData: props.userData,
        labels: props.labels,
        placementGroupId: this.placementGroup ? Token.asNumber(this.placementGroup.id) : undefined,
        deleteProtection: protect,
        rebuildProtection: protect,
        publicNet: [{ ipv4Enabled: true, ipv6Enabled: true }],
        // user_data changes would replace the server; roll them out deliberately instead.
        lifecycle: { ignoreChanges: ['user_data', 'image'] },
      });
    });
  }
}
