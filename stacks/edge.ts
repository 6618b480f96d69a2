import { DataCloudflareZone } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zone/index.js';
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { ProxiedHostname } from '../constructs/cloudflare/proxied-hostname.ts';
import type { HetznerEnvironment } from '../environments/index.ts';
import { useCloudflare } from './providers.ts';
import { useRemoteState } from './remote-state.ts';

export interface EdgeOrigin {
  readonly ipv4: string;
  readonly ipv6?: string;
}

/** Cloudflare in front of an environment: the hub hostname, proxied to the origin. */
export class EdgeStack extends TerraformStack {
  constructor(scope: Construct, name: string, env: HetznerEnvironment, origin: EdgeOrigin) {
    super(scope, name);
    useCloudflare(this);
    useRemoteState(this, env, name);

    const zone = new DataCloudflareZone(this, 'Zone', { filter: { name: env.dns.zone } });
    new ProxiedHostname(this, 'Hub', {
      zoneId: zone.zoneId,
      hostname: env.dns.hubHostname,
      ipv4: origin.ipv4,
      ipv6: origin.ipv6,
    });
  }
}
