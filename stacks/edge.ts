import { DataCloudflareZone } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zone/index.js';
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { EdgeRules } from '../constructs/cloudflare/edge-rules.ts';
import { AuthenticatedOriginPulls } from '../constructs/cloudflare/origin-pulls.ts';
import { GeoLoadBalancer } from '../constructs/cloudflare/geo-load-balancer.ts';
import { ProxiedHostname } from '../constructs/cloudflare/proxied-hostname.ts';
import { ZoneSecurity } from '../constructs/cloudflare/zone-security.ts';
import { primaryRegionOf, regionsByPreference, type HetznerEnvironment } from '../environments/index.ts';
import type { Entry } from './infra/context.ts';
import { useCloudflare } from './providers.ts';
import { useRemoteState } from './remote-state.ts';

/**
 * Cloudflare in front of an environment: zone TLS settings, Authenticated Origin Pulls, WAF, rate
 * limits and cache rules, and the hub hostname, proxied to the single region's entry or geo-balanced across several regions.
 */
export class EdgeStack extends TerraformStack {
  constructor(scope: Construct, name: string, env: HetznerEnvironment, entries: ReadonlyMap<string, Entry>) {
    super(scope, name);
    useCloudflare(this);
    useRemoteState(this, env, name);

    const zone = new DataCloudflareZone(this, 'Zone', { filter: { name: env.dns.zone } });
    new ZoneSecurity(this, 'ZoneSecurity', { zoneId: zone.zoneId });
    new AuthenticatedOriginPulls(this, 'OriginPulls', { zoneId: zone.zoneId });
    new EdgeRules(this, 'Rules', {
      zoneId: zone.zoneId,
      websocketUpgradesPerMinute: env.edge.websocketUpgradesPerMinute,
      apiRequestsPerMinute: env.edge.apiRequestsPerMinute,
      websocketPath: env.hub.websocketPath,
    });

    if (env.regions.length === 1) {
      const entry = entries.get(env.regions[0]!.name);
      if (!entry) throw new Error(`no entry addresses for region ${env.regions[0]!.name}`);
      new ProxiedHostname(this, 'Hub', {
        zoneId: zone.zoneId,
        hostname: env.dns.hubHostname,
        ipv4: entry.ipv4,
        ipv6: entry.ipv6,
      });
      return;
    }
    // Tier 3 is active/standby: only the primary region's database takes writes, so every geo region
    // the environment lists goes to the primary's pool first, and a switchover moves them all.
    const primary = primaryRegionOf(env);
    const geoRegions = [...new Set(env.regions.flatMap((r) => r.servesGeoRegions))];
    new GeoLoadBalancer(this, 'Hub', {
      accountId: zone.account.id,
      zoneId: zone.zoneId,
      hostname: env.dns.hubHostname,
      namePrefix: env.name,
      regions: regionsByPreference(env).map((r) => {
        const entry = entries.get(r.name);
        if (!entry) throw new Error(`no entry addresses for region ${r.name}`);
        return { name: r.name, address: entry.ipv4, servesRegions: r === primary ? geoRegions : [] };
      }),
    });
  }
}
