/*
 * Where the local cluster keeps its files and which addresses it uses. Every listener is on
 * 127.0.0.1 or a bridge of this machine: two nodes, each with its own containerd, kubelet and bridge
 * (cni0 and cni1, one /24 of the pod network each), so pods of one node reach the other's through this
 * host's routing and nothing is routed anywhere else.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_CIDR } from '../../stacks/infra/k3s.ts';
import { repoRoot, toolsDir, toolVersions } from '../lib/tools.ts';

export const kubernetesVersion = toolVersions.KUBERNETES_VERSION!;
export const etcdVersion = toolVersions.ETCD_VERSION!;
export const crictlVersion = toolVersions.CRICTL_VERSION!;
export const corednsVersion = toolVersions.COREDNS_VERSION!;

/** Certificates, keys, configs, data and logs: one directory, removed by nothing but the operator. */
export const stateDir = process.env.RINGFORGE_CLUSTER_DIR ?? join(toolsDir, '..', 'cluster');
export const pkiDir = join(stateDir, 'pki');
export const configDir = join(stateDir, 'config');
export const logDir = join(stateDir, 'logs');
export const runDir = join(stateDir, 'run');
export const volumesDir = join(stateDir, 'volumes');
/** The host settings `up` changed, so `down` can put them back. */
export const hostRecord = join(stateDir, 'host-changes.json');
export const adminKubeconfig = join(stateDir, 'admin.kubeconfig');

export const apiserverPort = 6443;
export const apiserverUrl = `https://127.0.0.1:${apiserverPort}`;
export const etcdClientUrl = 'http://127.0.0.1:2379';
export const etcdPeerUrl = 'http://127.0.0.1:2380';

/** The pod network is tier 2's (k3s's default), so manifests see the addresses they will in production. */
export const clusterCidr = CLUSTER_CIDR;
const podNetworkPrefix = clusterCidr.replace(/\.0\.0\/16$/, '');

/** One worker node: its daemons, directories, bridge, addresses and ports. */
export interface NodeLayout {
  readonly name: string;
  /** The daemons' names (run/<name>.pid, logs/<name>.log). */
  readonly containerdDaemon: string;
  readonly kubeletDaemon: string;
  /** The node's /24 of the pod network, its bridge, and the bridge's address (the pods' gateway, the node IP). */
  readonly podCidr: string;
  readonly bridge: string;
  readonly nodeIp: string;
  readonly kubeletPort: number;
  readonly kubeletHealthzPort: number;
  /** The cgroup its kubelet puts `kubepods` under; undefined: the hierarchy's root. */
  readonly cgroupRoot: string | undefined;
  readonly kubeletDir: string;
  readonly podLogsDir: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdSocket: string;
  readonly cniConfDir: string;
  readonly cniIpamDir: string;
  /** The kubelet's configuration, containerd's and the name of the kubelet's certificate and kubeconfig. */
  readonly kubeletConfig: string;
  readonly containerdConfig: string;
  readonly kubeletIdentity: string;
}

/**
 * Node `index` (0-based). The first keeps the paths, names and ports it had as the only node, so a
 * cluster started before node 2 existed carries on; each later one has its own directory under
 * nodes/, its own bridge cni<index>, pod CIDR 10.244.<index>.0/24, kubelet ports and cgroup root.
 */
export function nodeLayout(index: number): NodeLayout {
  const first = index === 0;
  const name = first ? 'ringforge-node' : `ringforge-node-${index + 1}`;
  const dir = first ? stateDir : join(stateDir, 'nodes', name);
  const suffix = first ? '' : `-${index + 1}`;
  return {
    name,
    containerdDaemon: `containerd${suffix}`,
    kubeletDaemon: `kubelet${suffix}`,
    podCidr: `${podNetworkPrefix}.${index}.0/24`,
    bridge: `cni${index}`,
    nodeIp: `${podNetworkPrefix}.${index}.1`,
    kubeletPort: 10250 + 100 * index,
    kubeletHealthzPort: 10248 + 100 * index,
    cgroupRoot: first ? undefined : `/${name}`,
    kubeletDir: join(dir, 'kubelet'),
    podLogsDir: join(dir, 'pod-logs'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniIpamDir: join(dir, 'cni', 'ipam'),
    kubeletConfig: join(configDir, `kubelet${suffix}.yaml`),
    containerdConfig: join(configDir, `containerd${suffix}.toml`),
    kubeletIdentity: first ? 'kubelet' : `kubelet-${name}`,
  };
}

/** The worker nodes; the first also hosts the API relay and CoreDNS on its bridge address. */
export const nodes: readonly NodeLayout[] = [nodeLayout(0), nodeLayout(1)];
export const firstNode = nodes[0]!;
/** Node 1's bridge address: where pods of every node reach the API server (api-relay) and CoreDNS. */
export const bridgeGateway = firstNode.nodeIp;
export const serviceCidr = '10.96.0.0/16';
export const kubernetesServiceIp = '10.96.0.1';
export const storageClassName = 'hcloud-volumes';
export const corednsReadyPort = 18181;

const bin = join(toolsDir, 'bin');
export const binaries = {
  etcd: join(bin, `etcd-${etcdVersion}`),
  kubeApiserver: join(bin, `kube-apiserver-${kubernetesVersion}`),
  kubeControllerManager: join(bin, `kube-controller-manager-${kubernetesVersion}`),
  kubeScheduler: join(bin, `kube-scheduler-${kubernetesVersion}`),
  kubelet: join(bin, `kubelet-${kubernetesVersion}`),
  kubeProxy: join(bin, `kube-proxy-${kubernetesVersion}`),
  kubectl: join(bin, `kubectl-${kubernetesVersion}`),
  crictl: join(bin, `crictl-${crictlVersion}`),
  coredns: join(bin, `coredns-${corednsVersion}`),
  pause: join(bin, `pause-${kubernetesVersion}`),
  containerd: join(toolsDir, 'node', 'containerd', 'usr', 'bin', 'containerd'),
  ctr: join(toolsDir, 'node', 'containerd', 'usr', 'bin', 'ctr'),
} as const;
/** containerd finds its shim on PATH. */
export const containerdBinDir = join(toolsDir, 'node', 'containerd', 'usr', 'bin');
export const cniBinDir = join(toolsDir, 'node', 'containernetworking-plugins', 'usr', 'lib', 'cni');
export const pauseImage = `localhost/ringforge/pause:${kubernetesVersion}`;

/** The upstream CRDs beside the repository (../shared/crds), as the README's set-up lays them out. */
export const crdDir = join(repoRoot, '..', 'shared', 'crds');

export function missingBinaries(): string[] {
  return [...Object.values(binaries), cniBinDir].filter((path) => !existsSync(path));
}
