import { stringify } from 'yaml';
import type { CloudConfig } from '../cloud-config.ts';

/** Pinned versions of what a tier 2 cluster bootstraps; ArgoCD manages everything after that. */
export const K3S_BOOTSTRAP = {
  // Kubernetes 1.36 (upstream support until mid-2027); the test cluster of `npm run cluster` runs the same minor.
  k3s: 'v1.36.5+k3s1',
  argoCdChart: '7.7.11',
  hcloudCcmChart: '1.21.0',
  hcloudCsiChart: '2.11.0',
} as const;

export interface K3sNodeProps {
  /** First control-plane server's private address; the others join it. */
  readonly joinAddress: string;
  /** This node's private address. */
  readonly privateIp: string;
  /** Cluster join token: a Terraform reference to a sensitive variable, never a literal. */
  readonly token: string;
  /** Name of the private network, for the cloud-controller-manager's routes. */
  readonly networkName: string;
  /** Pod CIDR routed through the Hetzner network. */
  readonly clusterCidr: string;
}

export interface K3sControlPlaneProps extends K3sNodeProps {
  /** Whether this node initialises the embedded etcd cluster (exactly one does). */
  readonly initialises: boolean;
  /** Extra API server certificate names (e.g. the load balancer address). */
  readonly tlsSans: readonly string[];
  /** What the root ArgoCD Application syncs. */
  readonly gitops: { readonly repoUrl: string; readonly revision: string; readonly path: string };
}

const APPLICATION_HEALTH = `hs = { status = "Progressing", message = "" }
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then hs.message = obj.status.health.message end
end
return hs
`;

const install = (role: 'server' | 'agent', args: readonly string[]) => [
  'sh',
  '-c',
  `curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION='${K3S_BOOTSTRAP.k3s}' INSTALL_K3S_EXEC='${role}' K3S_TOKEN_FILE=/etc/rancher/k3s/token sh -s - ${args.join(' ')}`,
];

// Hetzner's private interface on current server types; flannel must use it, not the public one.
const PRIVATE_IFACE = 'enp7s0';

function common(p: K3sNodeProps): string[] {
  return [
    `--node-ip=${p.privateIp}`,
    `--flannel-iface=${PRIVATE_IFACE}`,
    '--kubelet-arg=cloud-provider=external',
    '--kubelet-arg=protect-kernel-defaults=true',
  ];
}

const tokenFile = (p: K3sNodeProps) => ({
  path: '/etc/rancher/k3s/token',
  content: `${p.token}\n`,
  permissions: '0600',
});

/** A HelmChart object for k3s' built-in helm controller, which installs it on first boot. */
function helmChart(name: string, repo: string, chart: string, version: string, namespace: string, values: object) {
  return {
    apiVersion: 'helm.cattle.io/v1',
    kind: 'HelmChart',
    metadata: { name, namespace: 'kube-system' },
    spec: { repo, chart, version, targetNamespace: namespace, createNamespace: true, valuesContent: stringify(values) },
  };
}

/**
 * A k3s server with embedded etcd. Bundled extras that the kit replaces are disabled: the cloud
 * controller (hcloud CCM), servicelb (Hetzner load balancers), traefik (the ingress controller
 * comes from ArgoCD) and local-storage (hcloud CSI volumes). The first server also drops the
 * bootstrap manifests: hcloud CCM and CSI, ArgoCD, and the root Application.
 */
export function k3sControlPlaneCloudConfig(p: K3sControlPlaneProps): CloudConfig {
  const args = [
    ...(p.initialises ? ['--cluster-init'] : [`--server=https://${p.joinAddress}:6443`]),
    ...common(p),
    `--advertise-address=${p.privateIp}`,
    `--cluster-cidr=${p.clusterCidr}`,
    '--disable-cloud-controller',
    '--disable=servicelb',
    '--disable=traefik',
    '--disable=local-storage',
    '--flannel-backend=vxlan',
    '--secrets-encryption',
    '--node-taint=node-role.kubernetes.io/control-plane=true:NoSchedule',
    ...p.tlsSans.map((s) => `--tls-san=${s}`),
  ];
  const manifests = [
    helmChart(
      'hcloud-ccm',
      'https://charts.hetzner.cloud',
      'hcloud-cloud-controller-manager',
      K3S_BOOTSTRAP.hcloudCcmChart,
      'kube-system',
      {
        // Reads the `hcloud` Secret (token, network), which the secrets runbook creates: tokens
        // never travel in user data, which every process on the node can read back.
        networking: { enabled: true, clusterCIDR: p.clusterCidr },
      },
    ),
    helmChart('hcloud-csi', 'https://charts.hetzner.cloud', 'hcloud-csi', K3S_BOOTSTRAP.hcloudCsiChart, 'kube-system', {
      storageClasses: [{ name: 'hcloud-volumes', defaultStorageClass: true, reclaimPolicy: 'Retain' }],
    }),
    helmChart('argo-cd', 'https://argoproj.github.io/argo-helm', 'argo-cd', K3S_BOOTSTRAP.argoCdChart, 'argocd', {
      // ArgoCD reports no health for Applications by default, so an app-of-apps would not wait
      // for one sync wave's Applications to be healthy before the next: operators before data.
      configs: { cm: { 'resource.customizations.health.argoproj.io_Application': APPLICATION_HEALTH } },
    }),
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'root', namespace: 'argocd', finalizers: ['resources-finalizer.argocd.argoproj.io'] },
      spec: {
        project: 'default',
        source: {
          repoURL: p.gitops.repoUrl,
          targetRevision: p.gitops.revision,
          path: p.gitops.path,
          directory: { recurse: false },
        },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'argocd' },
        syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
      },
    },
  ];
  return {
    writeFiles: [
      tokenFile(p),
      ...(p.initialises
        ? [
            {
              path: '/var/lib/rancher/k3s/server/manifests/ringforge-bootstrap.yaml',
              content: manifests.map((m) => stringify(m)).join('---\n'),
              permissions: '0600',
            },
          ]
        : []),
    ],
    runcmd: [install('server', args)],
  };
}

/** A k3s agent (worker) joining the control plane over the private network. */
export function k3sWorkerCloudConfig(p: K3sNodeProps): CloudConfig {
  return {
    writeFiles: [tokenFile(p)],
    runcmd: [install('agent', [`--server=https://${p.joinAddress}:6443`, ...common(p)])],
  };
}
