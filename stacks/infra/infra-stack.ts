import { DataCloudflareIpRanges } from '@cdktf/provider-cloudflare/lib/data-cloudflare-ip-ranges/index.js';
import { TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { SshKey } from '../../.gen/providers/hcloud/ssh-key';
import { OriginCertificate } from '../../constructs/cloudflare/origin-certificate.ts';
import { PrivateNetwork } from '../../constructs/hetzner/private-network.ts';
import { hetznerLabels } from '../../constructs/labels.ts';
import { HETZNER_LOCATIONS, type HetznerEnvironment, type Tier } from '../../environments/index.ts';
import { useCloudflare, useHcloud } from '../providers.ts';
import { useRemoteState } from '../remote-state.ts';
import type { Entry, Layout, LayoutContext } from './context.ts';
import { highAvailability } from './ha.ts';
import { k3sCluster } from './k3s.ts';
import { singleNode } from './single-node.ts';

/** What each tier builds in a region. */
const LAYOUTS: Record<Tier, Layout> = { 0: singleNode, 1: highAvailability, 2: k3sCluster, 3: k3sCluster };

/**
 * The Hetzner side of one region of an environment: SSH key, private network, the origin
 * certificate, firewalls and the tier's servers and load balancer. Outputs the addresses the
 * edge stack proxies to.
 */
export class InfraStack extends TerraformStack {
  readonly entry: Entry;

  constructor(scope: Construct, name: string, env: HetznerEnvironment, regionName: string) {
    super(scope, name);
    const region = env.regions.find((r) => r.name === regionName);
    if (!region) throw new Error(`region ${regionName} is not a region of ${env.name}`);
    useHcloud(this);
    useCloudflare(this);
    useRemoteState(this, env, name);

    const prefix = env.regions.length > 1 ? `${env.name}-${region.name}` : env.name;
    const labels = (role: string) => ({ environment: env.name, tier: env.tier, role });
    const secrets = new Map<string, TerraformVariable>();
    const secretVariable = (id: string, description: string) => {
      const existing = secrets.get(id);
      if (existing) return existing;
      const variable = new TerraformVariable(this, id, {
        type: 'string',
        sensitive: true,
        nullable: false,
        description,
      });
      secrets.set(id, variable);
      return variable;
    };

    const adminKey = new TerraformVariable(this, 'admin_ssh_public_key', {
      type: 'string',
      nullable: false,
      description: 'OpenSSH public key installed for root on every server (password logins stay disabled)',
    });
    const originCsr = new TerraformVariable(this, 'origin_csr', {
      type: 'string',
      nullable: false,
      description: 'PEM CSR for the origin certificate; its private key stays with the operator (runbooks/secrets.md)',
    });

    const ctx: LayoutContext = {
      stack: this,
      env,
      region,
      prefix,
      labels,
      secretVariable,
      sshKeys: [
        new SshKey(this, 'AdminKey', {
          name: `${prefix}-admin`,
          publicKey: adminKey.stringValue,
          labels: hetznerLabels(labels('admin')),
        }),
      ],
      network: new PrivateNetwork(this, 'Network', {
        name: prefix,
        networkZone: HETZNER_LOCATIONS[region.location],
        labels: hetznerLabels(labels('network')),
      }),
      cloudflareRanges: new DataCloudflareIpRanges(this, 'CloudflareRanges', {}),
      originCertificate: new OriginCertificate(this, 'OriginCertificate', {
        csr: originCsr.stringValue,
        hostnames: [env.dns.hubHostname],
      }),
    };
    this.entry = LAYOUTS[env.tier](ctx);

    new TerraformOutput(this, 'entry_ipv4', {
      value: this.entry.ipv4,
      description: 'Public IPv4 Cloudflare proxies to',
    });
    new TerraformOutput(this, 'entry_ipv6', {
      value: this.entry.ipv6,
      description: 'Public IPv6 Cloudflare proxies to',
    });
    new TerraformOutput(this, 'origin_certificate', {
      value: ctx.originCertificate.resource.certificate,
      description: 'Origin CA certificate (public) for the origin TLS terminator',
    });
  }
}
