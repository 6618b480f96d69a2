import type { DataCloudflareIpRanges } from '@cdktf/provider-cloudflare/lib/data-cloudflare-ip-ranges/index.js';
import type { TerraformStack, TerraformVariable } from 'cdktf';
import type { SshKey } from '../../.gen/providers/hcloud/ssh-key';
import type { OriginCertificate } from '../../constructs/cloudflare/origin-certificate.ts';
import type { PrivateNetwork } from '../../constructs/hetzner/private-network.ts';
import type { ResourceLabels } from '../../constructs/labels.ts';
import type { HetznerEnvironment } from '../../environments/index.ts';

type Region = HetznerEnvironment['regions'][number];

/** What every tier layout gets from the infra stack it builds into. */
export interface LayoutContext {
  readonly stack: TerraformStack;
  readonly env: HetznerEnvironment;
  readonly region: Region;
  readonly sshKeys: readonly SshKey[];
  readonly network: PrivateNetwork;
  readonly cloudflareRanges: DataCloudflareIpRanges;
  readonly originCertificate: OriginCertificate;
  /** Sensitive input variables, created on first use. */
  readonly secretVariable: (name: string, description: string) => TerraformVariable;
  readonly labels: (role: string) => ResourceLabels;
  /** Prefix of resource names in this region, e.g. `prod-fsn1`. */
  readonly prefix: string;
}

/** The public addresses Cloudflare proxies to. */
export interface Entry {
  readonly ipv4: string;
  readonly ipv6: string;
}

export type Layout = (ctx: LayoutContext) => Entry;
