/*
 * The components' configuration files: one kubeconfig per client identity, kube-proxy's and
 * CoreDNS's, and per node the kubelet's, containerd's and the CNI network's. `up` rewrites a file only
 * when its content changed (a daemon reads a change when next started; kube-proxy exits on one);
 * nothing here holds a secret beyond paths to the keys.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  adminKubeconfig,
  apiserverUrl,
  bridgeGateway,
  clusterCidr,
  cniBinDir,
  configDir,
  corednsReadyPort,
  nodes,
  pauseImage,
  type NodeLayout,
} from './layout.ts';
import { certs, kubeletCert, pki, type CertSpec } from './pki.ts';

type Identity = Exclude<keyof typeof certs, 'apiserver' | 'apiserverKubeletClient' | 'frontProxyClient'>;

const kubeconfigPath = (spec: CertSpec) =>
  spec === certs.admin ? adminKubeconfig : join(configDir, `${spec.name}.kubeconfig`);

export const configs = {
  kubeconfig: (who: Identity) => kubeconfigPath(certs[who]),
  kubeletKubeconfig: (node: NodeLayout) => kubeconfigPath(kubeletCert(node)),
  kubeProxy: join(configDir, 'kube-proxy.yaml'),
  cni: (node: NodeLayout) => join(node.cniConfDir, '10-ringforge.conflist'),
  corefile: join(configDir, 'Corefile'),
};

function kubeconfig(spec: CertSpec): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ringforge-local', cluster: { server: apiserverUrl, 'certificate-authority': pki.caCert } }],
    users: [{ name: spec.cn, user: { 'client-certificate': pki.cert(spec), 'client-key': pki.key(spec) } }],
    contexts: [{ name: 'ringforge-local', context: { cluster: 'ringforge-local', user: spec.cn } }],
    'current-context': 'ringforge-local',
  });
}

const kubeletConfig = (node: NodeLayout) => ({
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  kind: 'KubeletConfiguration',
  // A node's address may not be loopback: the kubelet serves on its bridge's (see daemons.ts), on
  // ports of its own, since both nodes' kubelets run on this host.
  address: node.nodeIp,
  port: node.kubeletPort,
  healthzBindAddress: '127.0.0.1',
  healthzPort: node.kubeletHealthzPort,
  readOnlyPort: 0,
  authentication: {
    anonymous: { enabled: false },
    webhook: { enabled: true },
    x509: { clientCAFile: pki.caCert },
  },
  authorization: { mode: 'Webhook' },
  tlsCertFile: pki.cert(kubeletCert(node)),
  tlsPrivateKeyFile: pki.key(kubeletCert(node)),
  containerRuntimeEndpoint: `unix://${node.containerdSocket}`,
  // No systemd manages this machine's cgroups, and they are v1: Kubernetes 1.35 stops accepting v1
  // unless told to, so the setting is explicit already.
  cgroupDriver: 'cgroupfs',
  failCgroupV1: false,
  // Each kubelet owns the `kubepods` tree under its own root (node 1's is the hierarchy's root, as
  // before node 2 existed), so neither resizes or removes the other's pod cgroups.
  ...(node.cgroupRoot === undefined ? {} : { cgroupRoot: node.cgroupRoot }),
  // Without CAP_SYS_RESOURCE no process here may lower its oom_score_adj below its parent's.
  oomScoreAdj: 0,
  podCIDR: node.podCidr,
  podLogsDir: node.podLogsDir,
  clusterDomain: 'cluster.local',
  // CoreDNS on node 1's bridge answers for the cluster's names only (node 2's pods reach it through
  // this host's routing); pods get no other name server (the host's is off this machine), so nothing
  // in a pod resolves an address elsewhere.
  clusterDNS: [bridgeGateway],
  resolvConf: '',
  // The images were imported, not pulled: they cannot come back once garbage-collected, so neither
  // image GC nor disk-pressure eviction may remove them on this shared disk.
  imageGCHighThresholdPercent: 100,
  imageGCLowThresholdPercent: 99,
  evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
  serializeImagePulls: false,
  maxPods: 110,
});

/*
 * One kube-proxy for both nodes: its iptables rules are the host's, so a Service's rules serve every
 * pod on either bridge, and detecting local traffic by the whole cluster CIDR counts both nodes' pods
 * as local. It reports as node 1.
 */
const kubeProxyConfig = {
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
  kind: 'KubeProxyConfiguration',
  mode: 'iptables',
  clientConnection: { kubeconfig: join(configDir, `${certs.kubeProxy.name}.kubeconfig`) },
  clusterCIDR: clusterCidr,
  bindAddress: '127.0.0.1',
  healthzBindAddress: '127.0.0.1:10256',
  metricsBindAddress: '127.0.0.1:10249',
  // NodePorts answer on loopback only.
  nodePortAddresses: ['127.0.0.1/32'],
  oomScoreAdj: 0,
  // Leave the host's conntrack table size and timeouts as they are.
  conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
};

const cri = 'plugins."io.containerd.grpc.v1.cri"';
/** Each node's containerd has its own root, state, socket, runc root and CNI configuration. */
const containerdConfig = (node: NodeLayout) => `# Written by scripts/cluster/configs.ts.
version = 2
root = "${node.containerdRoot}"
state = "${node.containerdState}"

[grpc]
  address = "${node.containerdSocket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(node.containerdRoot, 'opt')}"

[${cri}]
  sandbox_image = "${pauseImage}"
  # This machine lacks CAP_SYS_RESOURCE: containers may not get a lower oom_score_adj than containerd's.
  restrict_oom_score_adj = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "${join(node.containerdState, 'runc')}"

[${cri}.cni]
  bin_dir = "${cniBinDir}"
  conf_dir = "${node.cniConfDir}"
`;

/** The node's bridge and /24; node 1's network keeps the name it had alone. */
const cniConfig = (node: NodeLayout) => ({
  cniVersion: '1.0.0',
  name: node === nodes[0] ? 'ringforge' : `ringforge-${node.name}`,
  plugins: [
    {
      type: 'bridge',
      bridge: node.bridge,
      isGateway: true,
      // No masquerading: pods have no way off this machine (and `up` rejects forwarding there).
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        dataDir: node.cniIpamDir,
        ranges: [[{ subnet: node.podCidr, gateway: node.nodeIp }]],
        routes: [{ dst: '0.0.0.0/0' }],
      },
    },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
});

/** Service and pod names only: no `forward`, so a name outside the cluster does not resolve. */
const corefile = `# Written by scripts/cluster/configs.ts.
.:53 {
  bind ${bridgeGateway}
  errors
  ready 127.0.0.1:${corednsReadyPort}
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig ${adminKubeconfig}
    pods insecure
  }
  cache 30
}
`;

/** Writes only a changed file: kube-proxy exits when its configuration file changes under it. */
function writeIfChanged(path: string, content: string, mode = 0o644): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return;
  writeFileSync(path, content, { mode });
}

export function writeConfigs(): void {
  mkdirSync(configDir, { recursive: true });
  for (const who of ['admin', 'controllerManager', 'scheduler', 'kubeProxy'] as const) {
    writeIfChanged(configs.kubeconfig(who), kubeconfig(certs[who]), 0o600);
  }
  writeIfChanged(configs.kubeProxy, stringify(kubeProxyConfig));
  writeIfChanged(configs.corefile, corefile);
  for (const node of nodes) {
    for (const dir of [node.cniConfDir, node.cniIpamDir, node.kubeletDir, node.podLogsDir]) {
      mkdirSync(dir, { recursive: true });
    }
    writeIfChanged(configs.kubeletKubeconfig(node), kubeconfig(kubeletCert(node)), 0o600);
    writeIfChanged(node.kubeletConfig, stringify(kubeletConfig(node)));
    writeIfChanged(node.containerdConfig, containerdConfig(node));
    writeIfChanged(configs.cni(node), JSON.stringify(cniConfig(node), null, 2) + '\n');
  }
}
