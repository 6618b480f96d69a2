import { renderCloudConfig } from '../../constructs/hetzner/cloud-config.ts';
import { HubListener, HubLoadBalancer } from '../../constructs/hetzner/hub-load-balancer.ts';
import { k3sControlPlaneCloudConfig, k3sWorkerCloudConfig } from '../../constructs/hetzner/roles/k3s.ts';
import { ServerGroup } from '../../constructs/hetzner/server-group.ts';
import { hetznerLabels } from '../../constructs/labels.ts';
import type { Layout } from './context.ts';
import { roleFirewall } from './firewalls.ts';

const FIRST_HOST = { loadBalancer: 1, controlPlane: 10, worker: 100 } as const;
/** Pod addresses of every k3s cluster the kit builds; the hub trusts its ingress controller's pods in it. */
export const CLUSTER_CIDR = '10.244.0.0/16';

/** Where a cluster's root Application reads its manifests: per region when there are several. */
export const gitopsPath = (envName: string, regionName: string, regions: number): string =>
  regions > 1 ? `dist/k8s/${envName}/${regionName}` : `dist/k8s/${envName}`;

/**
 * Tiers 2-3 (one cluster per region): k3s with embedded etcd on three control-plane servers and a
 * worker pool, all on the private network; the Kubernetes API only from admin networks. The load
 * balancer is created here and adopted by the cluster's ingress Service through the hcloud
 * cloud-controller-manager, which manages its services and targets.
 */
export const k3sCluster: Layout = (ctx) => {
  const { env, network, region } = ctx;
  const controlPlane = env.servers.controlPlane!;
  const worker = env.servers.worker!;
  const joinAddress = network.hostAddress(FIRST_HOST.controlPlane);
  const lbAddress = network.hostAddress(FIRST_HOST.loadBalancer);
  const token = ctx.secretVariable('k3s_token', 'Shared secret that k3s nodes join the cluster with').stringValue;
  const node = (privateIp: string) => ({
    joinAddress,
    privateIp,
    token,
    networkName: network.network.name,
    clusterCidr: CLUSTER_CIDR,
  });

  for (const role of ['controlPlane', 'worker'] as const) roleFirewall(ctx, role, { adminPorts: ['6443'] });

  new ServerGroup(ctx.stack, 'ControlPlane', {
    namePrefix: `${ctx.prefix}-cp`,
    count: controlPlane.count,
    serverType: controlPlane.type,
    location: region.location,
    sshKeys: ctx.sshKeys,
    userData: (n) =>
      renderCloudConfig(
        k3sControlPlaneCloudConfig({
          ...node(network.hostAddress(FIRST_HOST.controlPlane + n - 1)),
          initialises: n === 1,
          tlsSans: [joinAddress, lbAddress],
          gitops: { ...env.gitops, path: gitopsPath(env.name, region.name, env.regions.length) },
        }),
      ),
    labels: hetznerLabels(ctx.labels('controlPlane')),
    network: { network, firstHost: FIRST_HOST.controlPlane },
    protect: true,
  });
  new ServerGroup(ctx.stack, 'Worker', {
    namePrefix: `${ctx.prefix}-worker`,
    count: worker.count,
    serverType: worker.type,
    location: region.location,
    sshKeys: ctx.sshKeys,
    userData: (n) => renderCloudConfig(k3sWorkerCloudConfig(node(network.hostAddress(FIRST_HOST.worker + n - 1)))),
    labels: hetznerLabels(ctx.labels('worker')),
    network: { network, firstHost: FIRST_HOST.worker },
  });

  const lb = new HubLoadBalancer(ctx.stack, 'LoadBalancer', {
    name: `${ctx.prefix}-ingress`,
    location: region.location,
    network,
    privateIp: lbAddress,
    labels: hetznerLabels(ctx.labels('load-balancer')),
    listener: HubListener.managedByCluster(),
  });
  return { ipv4: lb.resource.ipv4, ipv6: lb.resource.ipv6 };
};
