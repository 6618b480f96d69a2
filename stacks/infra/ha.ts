import { renderCloudConfig } from '../../constructs/hetzner/cloud-config.ts';
import { HubListener, HubLoadBalancer } from '../../constructs/hetzner/hub-load-balancer.ts';
import { DOCKER_IMAGE } from '../../constructs/hetzner/roles/single-node.ts';
import {
  EXPORTER_PORTS,
  HUB_NODE_PROXY_PORT,
  hubNodeCloudConfig,
  monitoringServerCloudConfig,
  nodeExporterCloudConfig,
  postgresExporterCloudConfig,
  valkeyExporterCloudConfig,
  postgresNodeCloudConfig,
  SENTINEL_PORT,
  sentinelCloudConfig,
  valkeyNodeCloudConfig,
} from '../../constructs/hetzner/roles/tier1.ts';
import { ServerGroup } from '../../constructs/hetzner/server-group.ts';
import { hetznerLabels, roleSelector } from '../../constructs/labels.ts';
import { serverMonitoringOf } from '../../constructs/monitoring/servers.ts';
import { DEFAULT_HUB_ADMIN_PORT } from '../../constructs/hub-listeners.ts';
import type { Layout, LayoutContext } from './context.ts';
import { roleFirewall } from './firewalls.ts';

/** Fixed host numbers in the subnet per role, so peers can be configured before they boot. */
const FIRST_HOST = { loadBalancer: 1, postgres: 10, valkey: 20, hub: 40 } as const;

function group(ctx: LayoutContext, role: 'hub' | 'postgres' | 'valkey', userData: (n: number, ip: string) => string) {
  const size = ctx.env.servers[role]!;
  roleFirewall(ctx, role);
  const firstHost = FIRST_HOST[role];
  return new ServerGroup(ctx.stack, role[0]!.toUpperCase() + role.slice(1), {
    namePrefix: `${ctx.prefix}-${role}`,
    count: size.count,
    serverType: size.type,
    location: ctx.region.location,
    image: role === 'hub' ? DOCKER_IMAGE : undefined,
    sshKeys: ctx.sshKeys,
    userData: (n) => userData(n, ctx.network.hostAddress(firstHost + n - 1)),
    labels: hetznerLabels(ctx.labels(role)),
    network: { network: ctx.network, firstHost },
    volumeSizeGb: size.volumeGb,
    protect: role !== 'hub',
  });
}

/**
 * Tier 1: hubs behind a Hetzner load balancer that passes TLS through to nginx on each hub server;
 * Postgres primary + streaming replica and Valkey primary + replica on the private network. No
 * server takes web traffic from the internet directly.
 */
export const highAvailability: Layout = (ctx) => {
  const { env, network } = ctx;
  const ip = (role: keyof typeof FIRST_HOST, n = 1) => network.hostAddress(FIRST_HOST[role] + n - 1);
  const backup = { ...env.backup, serverName: env.name };
  // Sentinels: one per Valkey server, plus the first Postgres server's while that makes fewer than three.
  const valkeyCount = env.servers.valkey!.count;
  const sentinelHosts = [
    ...Array.from({ length: valkeyCount }, (_, i) => ip('valkey', i + 1)),
    ...(valkeyCount < 3 ? [ip('postgres')] : []),
  ];
  const sentinel = (privateIp: string) =>
    sentinelCloudConfig({ privateIp, primaryIp: ip('valkey'), quorum: Math.floor(sentinelHosts.length / 2) + 1 });

  // Every server runs a node exporter; the first Postgres server also Prometheus and Alertmanager.
  const hosts = (role: 'hub' | 'postgres' | 'valkey', port: number) =>
    Array.from({ length: env.servers[role]!.count }, (_, i) => `${ip(role, i + 1)}:${port}`);
  const monitoringServer = monitoringServerCloudConfig({
    monitoring: serverMonitoringOf({ ...env, regions: [ctx.region] }),
    targets: {
      hub: hosts('hub', env.hub.adminPort ?? DEFAULT_HUB_ADMIN_PORT),
      postgres: hosts('postgres', EXPORTER_PORTS.postgres),
      valkey: hosts('valkey', EXPORTER_PORTS.valkey),
      node: (['postgres', 'valkey', 'hub'] as const).flatMap((role) => hosts(role, EXPORTER_PORTS.node)),
    },
  });

  group(ctx, 'postgres', (n, privateIp) =>
    renderCloudConfig(
      ...postgresNodeCloudConfig({ privateIp, primaryIp: ip('postgres'), subnet: network.subnetRange, backup }),
      ...(sentinelHosts.includes(privateIp) ? [sentinel(privateIp)] : []),
      nodeExporterCloudConfig({ privateIp }),
      postgresExporterCloudConfig({ privateIp, primary: privateIp === ip('postgres') }),
      ...(privateIp === ip('postgres') ? [monitoringServer] : []),
    ),
  );
  group(ctx, 'valkey', (_, privateIp) =>
    renderCloudConfig(
      valkeyNodeCloudConfig({ privateIp, primaryIp: ip('valkey') }),
      sentinel(privateIp),
      nodeExporterCloudConfig({ privateIp }),
      valkeyExporterCloudConfig({ privateIp }),
    ),
  );
  group(ctx, 'hub', (_, privateIp) =>
    renderCloudConfig(
      nodeExporterCloudConfig({ privateIp }),
      hubNodeCloudConfig({
        hubImage: `${env.hub.image.repository}@${env.hub.image.digest}`,
        hostname: env.dns.hubHostname,
        hubPort: env.hub.port,
        hubAdminPort: env.hub.adminPort,
        websocketPath: env.hub.websocketPath,
        drainSeconds: env.hub.drainSeconds,
        privateIp,
        sentinels: sentinelHosts.map((host) => `${host}:${SENTINEL_PORT}`),
      }),
    ),
  );

  // TLS ends at nginx on each hub server, which requires Cloudflare's origin-pull certificate; the
  // origin key stays on those servers (secrets runbook), never in Terraform's state.
  const lb = new HubLoadBalancer(ctx.stack, 'LoadBalancer', {
    name: `${ctx.prefix}-hub`,
    location: ctx.region.location,
    network,
    privateIp: ip('loadBalancer'),
    labels: hetznerLabels(ctx.labels('load-balancer')),
    listener: HubListener.passTls({
      targetSelector: roleSelector(ctx.labels('hub')),
      proxyPort: HUB_NODE_PROXY_PORT,
      hubPort: env.hub.port,
    }),
  });
  return { ipv4: lb.resource.ipv4, ipv6: lb.resource.ipv6 };
};
