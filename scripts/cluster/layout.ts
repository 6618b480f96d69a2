/*
 * Where the local cluster keeps its files and which addresses it uses. Every listener is on
 * 127.0.0.1; pods live on the cni0 bridge of this machine, and nothing is routed anywhere else.
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
export const kubeletDir = join(stateDir, 'kubelet');
export const podLogsDir = join(stateDir, 'pod-logs');
export const containerdRoot = join(stateDir, 'containerd', 'root');
export const containerdState = join(stateDir, 'containerd', 'state');
export const containerdSocket = join(stateDir, 'containerd', 'containerd.sock');
export const cniConfDir = join(stateDir, 'cni', 'net.d');
export const cniIpamDir = join(stateDir, 'cni', 'ipam');
export const volumesDir = join(stateDir, 'volumes');
/** The host settings `up` changed, so `down` can put them back. */
export const hostRecord = join(stateDir, 'host-changes.json');
export const adminKubeconfig = join(stateDir, 'admin.kubeconfig');

export const nodeName = 'ringforge-node';
export const apiserverPort = 6443;
export const apiserverUrl = `https://127.0.0.1:${apiserverPort}`;
export const etcdClientUrl = 'http://127.0.0.1:2379';
export const etcdPeerUrl = 'http://127.0.0.1:2380';

/** The pod network is tier 2's (k3s's default), so manifests see the addresses they will in production. */
export const clusterCidr = CLUSTER_CIDR;
export const podCidr = clusterCidr.replace(/\.0\.0\/16$/, '.0.0/24');
/** The bridge's address: the pods' gateway, and the address pods reach the API server on. */
export const bridgeGateway = clusterCidr.replace(/\.0\.0\/16$/, '.0.1');
export const bridgeName = 'cni0';
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
