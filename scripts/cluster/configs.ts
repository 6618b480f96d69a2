/*
 * The components' configuration files: one kubeconfig per client identity, the kubelet's and
 * kube-proxy's configuration, containerd's, the CNI network and CoreDNS's. `up` rewrites a file only
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
  bridgeName,
  clusterCidr,
  cniBinDir,
  cniConfDir,
  cniIpamDir,
  configDir,
  containerdRoot,
  containerdSocket,
  containerdState,
  corednsReadyPort,
  kubeletDir,
  pauseImage,
  podCidr,
  podLogsDir,
} from './layout.ts';
import { certs, pki } from './pki.ts';

type Identity = Exclude<keyof typeof certs, 'apiserver' | 'apiserverKubeletClient' | 'frontProxyClient'>;

export const configs = {
  kubeconfig: (who: Identity) => (who === 'admin' ? adminKubeconfig : join(configDir, `${certs[who].name}.kubeconfig`)),
  kubelet: join(configDir, 'kubelet.yaml'),
  kubeProxy: join(configDir, 'kube-proxy.yaml'),
  containerd: join(configDir, 'containerd.toml'),
  cni: join(cniConfDir, '10-ringforge.conflist'),
  corefile: join(configDir, 'Corefile'),
};

function kubeconfig(who: Identity): string {
  const spec = certs[who];
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ringforge-local', cluster: { server: apiserverUrl, 'certificate-authority': pki.caCert } }],
    users: [{ name: spec.cn, user: { 'client-certificate': pki.cert(spec), 'client-key': pki.key(spec) } }],
    contexts: [{ name: 'ringforge-local', context: { cluster: 'ringforge-local', user: spec.cn } }],
    'current-context': 'ringforge-local',
  });
}

const kubeletConfig = {
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  kind: 'KubeletConfiguration',
  // A node's address may not be loopback: the kubelet serves on the bridge's (see daemons.ts).
  address: bridgeGateway,
  healthzBindAddress: '127.0.0.1',
  readOnlyPort: 0,
  authentication: {
    anonymous: { enabled: false },
    webhook: { enabled: true },
    x509: { clientCAFile: pki.caCert },
  },
  authorization: { mode: 'Webhook' },
  tlsCertFile: pki.cert(certs.kubelet),
  tlsPrivateKeyFile: pki.key(certs.kubelet),
  containerRuntimeEndpoint: `unix://${containerdSocket}`,
  // No systemd manages this machine's cgroups, and they are v1: Kubernetes 1.35 stops accepting v1
  // unless told to, so the setting is explicit already.
  cgroupDriver: 'cgroupfs',
  failCgroupV1: false,
  // Without CAP_SYS_RESOURCE no process here may lower its oom_score_adj below its parent's.
  oomScoreAdj: 0,
  podCIDR: podCidr,
  podLogsDir,
  clusterDomain: 'cluster.local',
  // CoreDNS on the bridge answers for the cluster's names only; pods get no other name server (the
  // host's is off this machine), so nothing in a pod resolves an address elsewhere.
  clusterDNS: [bridgeGateway],
  resolvConf: '',
  // The images were imported, not pulled: they cannot come back once garbage-collected, so neither
  // image GC nor disk-pressure eviction may remove them on this shared disk.
  imageGCHighThresholdPercent: 100,
  imageGCLowThresholdPercent: 99,
  evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
  serializeImagePulls: false,
  maxPods: 110,
};

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
const containerdConfig = `# Written by scripts/cluster/configs.ts.
version = 2
root = "${containerdRoot}"
state = "${containerdState}"

[grpc]
  address = "${containerdSocket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(containerdRoot, 'opt')}"

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
  Root = "${join(containerdState, 'runc')}"

[${cri}.cni]
  bin_dir = "${cniBinDir}"
  conf_dir = "${cniConfDir}"
`;

const cniConfig = {
  cniVersion: '1.0.0',
  name: 'ringforge',
  plugins: [
    {
      type: 'bridge',
      bridge: bridgeName,
      isGateway: true,
      // No masquerading: pods have no way off this machine (and `up` rejects forwarding there).
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        dataDir: cniIpamDir,
        ranges: [[{ subnet: podCidr, gateway: bridgeGateway }]],
        routes: [{ dst: '0.0.0.0/0' }],
      },
    },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

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
  for (const dir of [configDir, cniConfDir, cniIpamDir, kubeletDir, podLogsDir]) mkdirSync(dir, { recursive: true });
  for (const who of ['admin', 'controllerManager', 'scheduler', 'kubeProxy', 'kubelet'] as const) {
    writeIfChanged(configs.kubeconfig(who), kubeconfig(who), 0o600);
  }
  writeIfChanged(configs.kubelet, stringify(kubeletConfig));
  writeIfChanged(configs.kubeProxy, stringify(kubeProxyConfig));
  writeIfChanged(configs.containerd, containerdConfig);
  writeIfChanged(configs.cni, JSON.stringify(cniConfig, null, 2) + '\n');
  writeIfChanged(configs.corefile, corefile);
}
