import { DataCloudflareIpRanges } from '@cdktf/provider-cloudflare/lib/data-cloudflare-ip-ranges/index.js';
import { Fn, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { SshKey } from '../.gen/providers/hcloud/ssh-key';
import { renderCloudConfig } from '../constructs/hetzner/cloud-config.ts';
import { OriginFirewall } from '../constructs/hetzner/origin-firewall.ts';
import { ServerGroup } from '../constructs/hetzner/server-group.ts';
import { hetznerLabels, roleSelector, type ResourceLabels } from '../constructs/labels.ts';
import type { HetznerEnvironment } from '../environments/index.ts';
import { useCloudflare, useHcloud } from './providers.ts';
import { useRemoteState } from './remote-state.ts';

/** Tier 0 infrastructure: one server behind a firewall that admits web traffic only from Cloudflare. */
export class SingleNodeInfraStack extends TerraformStack {
  readonly origin: ServerGroup;

  constructor(scope: Construct, name: string, env: HetznerEnvironment) {
    super(scope, name);
    useHcloud(this);
    useCloudflare(this);
    useRemoteState(this, env, name);

    const region = env.regions[0]!;
    const single = env.servers.single!;
    const labels: ResourceLabels = { environment: env.name, tier: env.tier, role: 'single' };

    const adminKey = new TerraformVariable(this, 'admin_ssh_public_key', {
      type: 'string',
      description: 'OpenSSH public key installed for root on every server (password logins stay disabled)',
    });
    const sshKey = new SshKey(this, 'AdminKey', {
      name: `${env.name}-admin`,
      publicKey: adminKey.stringValue,
      labels: hetznerLabels({ ...labels, role: 'admin' }),
    });

    const cloudflare = new DataCloudflareIpRanges(this, 'CloudflareRanges', {});
    new OriginFirewall(this, 'Firewall', {
      name: `${env.name}-origin`,
      appliesTo: roleSelector(labels),
      adminCidrs: env.adminCidrs,
      webSources: Fn.concat([cloudflare.ipv4Cidrs, cloudflare.ipv6Cidrs]),
      labels: hetznerLabels({ ...labels, role: 'firewall' }),
    });

    this.origin = new ServerGroup(this, 'Single', {
      namePrefix: `${env.name}-single`,
      count: single.count,
      serverType: single.type,
      location: region.location,
      sshKeys: [sshKey],
      userData: renderCloudConfig({ packages: ['docker.io', 'docker-compose'] }),
      labels: hetznerLabels(labels),
      protect: true,
    });

    const server = this.origin.servers[0]!;
    new TerraformOutput(this, 'origin_ipv4', { value: server.ipv4Address, description: 'Public IPv4 of the origin' });
    new TerraformOutput(this, 'origin_ipv6', { value: server.ipv6Address, description: 'Public IPv6 of the origin' });
  }
}
