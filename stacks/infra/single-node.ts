import { renderCloudConfig } from '../../constructs/hetzner/cloud-config.ts';
import { DOCKER_IMAGE, singleNodeCloudConfig } from '../../constructs/hetzner/roles/single-node.ts';
import { ServerGroup } from '../../constructs/hetzner/server-group.ts';
import { hetznerLabels } from '../../constructs/labels.ts';
import { serverMonitoringOf } from '../../constructs/monitoring/servers.ts';
import type { HetznerEnvironment } from '../../environments/index.ts';
import type { Layout } from './context.ts';
import { roleFirewall } from './firewalls.ts';

/** The tier 0 compose stack's settings, shared by cloud-init and the compose file in dist/. */
export const singleNodeProps = (env: HetznerEnvironment) => ({
  hubImage: `${env.hub.image.repository}@${env.hub.image.digest}`,
  hostname: env.dns.hubHostname,
  hubPort: env.hub.port,
  hubAdminPort: env.hub.adminPort,
  websocketPath: env.hub.websocketPath,
  drainSeconds: env.hub.drainSeconds,
  backup: { ...env.backup, serverName: env.name },
  monitoring: serverMonitoringOf(env),
});

/** Tier 0: one server running the compose stack, web ports open to Cloudflare only. */
export const singleNode: Layout = (ctx) => {
  const single = ctx.env.servers.single!;
  roleFirewall(ctx, 'single', { web: true });
  const group = new ServerGroup(ctx.stack, 'Single', {
    namePrefix: `${ctx.prefix}-single`,
    count: single.count,
    serverType: single.type,
    location: ctx.region.location,
    image: DOCKER_IMAGE,
    sshKeys: ctx.sshKeys,
    userData: () => renderCloudConfig(...singleNodeCloudConfig(singleNodeProps(ctx.env))),
    labels: hetznerLabels(ctx.labels('single')),
    network: { network: ctx.network, firstHost: 1 },
    volumeSizeGb: single.volumeGb,
    reverseDns: () => ctx.env.dns.hubHostname,
    protect: true,
  });
  const member = group.members[0]!;
  return { ipv4: member.ipv4!.ipAddress, ipv6: member.server.ipv6Address };
};
