/* The cluster's daemons, in start order, with the flags that keep every listener on loopback. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';
import { api, healthy } from './api.ts';
import { configs } from './configs.ts';
import {
  apiserverPort,
  binaries,
  bridgeGateway,
  clusterCidr,
  containerdBinDir,
  corednsReadyPort,
  etcdClientUrl,
  etcdPeerUrl,
  firstNode,
  nodes,
  serviceCidr,
  stateDir,
  type NodeLayout,
} from './layout.ts';
import { certs, pki } from './pki.ts';
import type { Daemon } from './processes.ts';

const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

const etcd: Daemon = {
  name: 'etcd',
  binary: binaries.etcd,
  args: [
    '--name=ringforge',
    `--data-dir=${join(stateDir, 'etcd')}`,
    `--listen-client-urls=${etcdClientUrl}`,
    `--advertise-client-urls=${etcdClientUrl}`,
    `--listen-peer-urls=${etcdPeerUrl}`,
    `--initial-advertise-peer-urls=${etcdPeerUrl}`,
    `--initial-cluster=ringforge=${etcdPeerUrl}`,
  ],
  ready: () => healthy(`${etcdClientUrl}/health`),
  readySeconds: 30,
};

const kubeApiserver: Daemon = {
  name: 'kube-apiserver',
  binary: binaries.kubeApiserver,
  args: [
    `--etcd-servers=${etcdClientUrl}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${apiserverPort}`,
    // The `kubernetes` Service's endpoint may not be a loopback address: pods reach the API server
    // through the bridge address, where the api-relay daemon forwards to loopback.
    `--advertise-address=${bridgeGateway}`,
    `--tls-cert-file=${pki.cert(certs.apiserver)}`,
    `--tls-private-key-file=${pki.key(certs.apiserver)}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    `--service-account-issuer=${serviceAccountIssuer}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction,PodSecurity',
    `--kubelet-client-certificate=${pki.cert(certs.apiserverKubeletClient)}`,
    `--kubelet-client-key=${pki.key(certs.apiserverKubeletClient)}`,
    `--kubelet-certificate-authority=${pki.caCert}`,
    '--kubelet-preferred-address-types=InternalIP',
    // The aggregation layer, for metrics APIs that HPAs read.
    `--requestheader-client-ca-file=${pki.frontProxyCaCert}`,
    `--requestheader-allowed-names=${certs.frontProxyClient.cn}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.cert(certs.frontProxyClient)}`,
    `--proxy-client-key-file=${pki.key(certs.frontProxyClient)}`,
    '--enable-aggregator-routing=true',
    '--profiling=false',
  ],
  ready: async () => (await api('/readyz')).status === 200,
  readySeconds: 90,
};

const controlPlaneClient = (who: 'controllerManager' | 'scheduler') => [
  `--kubeconfig=${configs.kubeconfig(who)}`,
  `--authentication-kubeconfig=${configs.kubeconfig(who)}`,
  `--authorization-kubeconfig=${configs.kubeconfig(who)}`,
  '--bind-address=127.0.0.1',
  '--leader-elect=false',
];

const kubeControllerManager: Daemon = {
  name: 'kube-controller-manager',
  binary: binaries.kubeControllerManager,
  args: [
    ...controlPlaneClient('controllerManager'),
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    '--use-service-account-credentials=true',
    '--allocate-node-cidrs=true',
    `--cluster-cidr=${clusterCidr}`,
    '--node-cidr-mask-size=24',
    `--service-cluster-ip-range=${serviceCidr}`,
    '--profiling=false',
  ],
  ready: () => healthy('https://127.0.0.1:10257/healthz'),
  readySeconds: 60,
};

const kubeScheduler: Daemon = {
  name: 'kube-scheduler',
  binary: binaries.kubeScheduler,
  args: [...controlPlaneClient('scheduler'), '--profiling=false'],
  ready: () => healthy('https://127.0.0.1:10259/healthz'),
  readySeconds: 60,
};

const apiRelay: Daemon = {
  name: 'api-relay',
  binary: '/usr/bin/socat',
  args: [`TCP-LISTEN:${apiserverPort},bind=${bridgeGateway},reuseaddr,fork`, `TCP:127.0.0.1:${apiserverPort}`],
  ready: () => healthy(`https://${bridgeGateway}:${apiserverPort}/livez`),
  readySeconds: 15,
};

const coredns: Daemon = {
  name: 'coredns',
  binary: binaries.coredns,
  args: ['-conf', configs.corefile],
  ready: () => healthy(`http://127.0.0.1:${corednsReadyPort}/ready`),
  readySeconds: 30,
};

const containerd = (node: NodeLayout): Daemon => ({
  name: node.containerdDaemon,
  binary: binaries.containerd,
  args: ['--config', node.containerdConfig],
  env: { PATH: `${containerdBinDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
  ready: async () =>
    existsSync(node.containerdSocket) &&
    (await $`${binaries.ctr} --address ${node.containerdSocket} version`.nothrow().quiet()).exitCode === 0,
  readySeconds: 30,
});

const kubelet = (node: NodeLayout): Daemon => ({
  name: node.kubeletDaemon,
  binary: binaries.kubelet,
  args: [
    `--config=${node.kubeletConfig}`,
    `--kubeconfig=${configs.kubeletKubeconfig(node)}`,
    `--hostname-override=${node.name}`,
    // Node addresses may not be loopback; the node's bridge address is this machine's too, and the
    // API server reaches the kubelet there for logs and exec.
    `--node-ip=${node.nodeIp}`,
    `--root-dir=${node.kubeletDir}`,
  ],
  ready: () => healthy(`http://127.0.0.1:${node.kubeletHealthzPort}/healthz`),
  readySeconds: 60,
});

/** One for the host: see the kube-proxy configuration in configs.ts. */
const kubeProxy: Daemon = {
  name: 'kube-proxy',
  binary: binaries.kubeProxy,
  args: [`--config=${configs.kubeProxy}`, `--hostname-override=${firstNode.name}`],
  ready: () => healthy('http://127.0.0.1:10256/healthz'),
  readySeconds: 60,
};

const provisioner: Daemon = {
  name: 'volume-provisioner',
  binary: process.execPath,
  args: ['--import', 'tsx', fileURLToPath(new URL('provisioner.ts', import.meta.url))],
  ready: async () => true,
  readySeconds: 5,
};

export const controlPlane = [etcd, kubeApiserver, kubeControllerManager, kubeScheduler, apiRelay, coredns];
/** Each node's containerd and kubelet. */
export const nodeDaemons = nodes.map((node) => ({ node, containerd: containerd(node), kubelet: kubelet(node) }));
export { kubeProxy, provisioner };
/** Every daemon, in start order. */
export const daemons = [
  ...controlPlane,
  ...nodeDaemons.flatMap((d) => [d.containerd, d.kubelet]),
  kubeProxy,
  provisioner,
];
