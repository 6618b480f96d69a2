/*
 * `npm run cluster -- up|down|status`: a two-node Kubernetes on this machine, built from source
 * (scripts/cluster/build.sh), every listener on loopback or a local bridge: nodes `ringforge-node` and
 * `ringforge-node-2`, each with its own containerd, kubelet and bridge (see layout.ts), so a node can
 * be drained for real and its pods move to the other.
 *   up [--region <location>]
 *           builds what is missing, starts etcd, the control plane, each node's containerd and
 *           kubelet, kube-proxy, labels the nodes with the region (default: the staging environment's
 *           first region's location) and its zone as the hcloud cloud-controller-manager does, installs
 *           ../shared/crds and the `hcloud-volumes` class, imports the local images into both nodes,
 *           and prints the kubeconfig. Running it again starts only what is not running.
 *   down    removes the pods, stops every daemon `up` started and restores the host's settings.
 *   status  each daemon, each node, the kubeconfig, and what this cluster does not have.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { $ } from 'zx';
import { waitFor } from '../containers/podman.ts';
import { repoRoot } from '../lib/tools.ts';
import { apiGet } from './api.ts';
import { writeConfigs } from './configs.ts';
import { controlPlane, daemons, kubeProxy, nodeDaemons, provisioner } from './daemons.ts';
import { prepareHost, restoreHost } from './host.ts';
import { crictl, importPauseImage, importProjectImages } from './images.ts';
import {
  adminKubeconfig,
  binaries,
  bridgeGateway,
  crdDir,
  kubernetesVersion,
  missingBinaries,
  nodes,
  stateDir,
  storageClassName,
  type NodeLayout,
} from './layout.ts';
import { ensurePki } from './pki.ts';
import { runningPid, start, stop } from './processes.ts';
import { provisionerName } from './provisioner.ts';
import { defaultRegion, regionArgument, regionLabel, topologyLabels, zoneLabel } from './topology.ts';

const say = (message: string) => console.log(`[cluster] ${message}`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

const kubectl = (args: readonly string[], input?: string) =>
  $({ quiet: true, input })`${binaries.kubectl} --kubeconfig ${adminKubeconfig} ${args}`;

interface NodeObject {
  metadata: { labels?: Record<string, string> };
  spec: { podCIDR?: string; unschedulable?: boolean };
  status: { conditions?: { type: string; status: string; message?: string; lastHeartbeatTime: string }[] };
}

const getNode = (name: string) => apiGet<NodeObject>(`/api/v1/nodes/${name}`).catch(() => undefined);

/** The node's Ready condition; one reported before `since` (a node object left from an earlier run) is stale. */
async function nodeReady(name: string, since = 0): Promise<string> {
  const ready = (await getNode(name))?.status.conditions?.find((c) => c.type === 'Ready');
  if (ready === undefined) return 'not registered';
  if (Date.parse(ready.lastHeartbeatTime) < since) return 'no status from this kubelet yet';
  return ready.status === 'True' ? 'Ready' : `NotReady: ${ready.message}`;
}

/**
 * Registers a node that is not yet with its bridge's /24 as pod CIDR (the controller-manager then
 * keeps it, whichever kubelet registers first) and its topology labels; the kubelet takes the object
 * over and keeps labels it does not set itself.
 */
async function ensureNodeObject(node: NodeLayout, labels: Record<string, string>): Promise<void> {
  const found = await getNode(node.name);
  if (found === undefined) {
    const object = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node.name, labels },
      spec: { podCIDR: node.podCidr, podCIDRs: [node.podCidr] },
    };
    await kubectl(['create', '-f', '-'], stringify(object));
  } else if (found.spec.podCIDR !== undefined && found.spec.podCIDR !== node.podCidr) {
    say(`node ${node.name}: pod CIDR ${found.spec.podCIDR} differs from its bridge's ${node.podCidr}`);
  }
}

/** The labels the hcloud cloud-controller-manager sets on a real node, set again on each `up`. */
async function labelNode(node: NodeLayout, labels: Record<string, string>): Promise<void> {
  await kubectl(['label', '--overwrite', 'node', node.name, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
}

/** Starts a node's containerd and kubelet; returns when the kubelet was started (0: it ran already). */
async function startNode({ node, containerd, kubelet }: (typeof nodeDaemons)[number]): Promise<number> {
  await start(containerd);
  await importPauseImage(node);
  // A kubelet started now reports at once; heartbeats carry whole seconds.
  const kubeletStarted = Math.floor(Date.now() / 1000) * 1000;
  return (await start(kubelet)) ? kubeletStarted : 0;
}

const storageClass = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  // The default class too, as Hetzner's CSI driver makes it, so claims that name no class bind as well.
  metadata: { name: storageClassName, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: provisionerName,
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
};

async function installAddons(): Promise<void> {
  const started = Date.now();
  if (existsSync(crdDir)) {
    const files = readdirSync(crdDir).filter((f) => f.endsWith('.yaml'));
    await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=ringforge-cluster', '-f', crdDir]);
    await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    say(`CRDs: ${files.length} files from ${crdDir} applied and established (${seconds(started)})`);
  } else {
    say(`CRDs: ${crdDir} is missing; none installed`);
  }
  await kubectl(['apply', '--server-side', '--field-manager=ringforge-cluster', '-f', '-'], stringify(storageClass));
  say(`storage class ${storageClassName}: ${provisionerName}`);
}

async function up(args: readonly string[]): Promise<void> {
  const started = Date.now();
  const region = regionArgument(args, defaultRegion);
  const labels = topologyLabels(region);
  say(`building (cached after the first run) Kubernetes v${kubernetesVersion}`);
  await $({ stdio: 'inherit' })`bash ${join(repoRoot, 'scripts', 'cluster', 'build.sh')}`;
  const missing = missingBinaries();
  if (missing.length > 0) throw new Error(`build.sh left these missing: ${missing.join(', ')}`);
  say(`state in ${stateDir}`);
  await ensurePki();
  writeConfigs();
  await prepareHost();
  for (const daemon of controlPlane) await start(daemon);
  for (const node of nodes) await ensureNodeObject(node, labels);
  const nodesStarted = Date.now();
  // One node after the other: every kubelet on a host binds the same device-plugin socket
  // (/var/lib/kubelet/device-plugins/kubelet.sock, whatever its root directory), and two starting at
  // once can both remove it and race to bind it; started in turn, the later one takes it over.
  const since: number[] = [];
  for (const daemons of nodeDaemons) since.push(await startNode(daemons));
  await start(kubeProxy);
  for (const [i, node] of nodes.entries()) {
    await waitFor(`node ${node.name} Ready`, 120, async () => (await nodeReady(node.name, since[i])) === 'Ready');
    await labelNode(node, labels);
    say(
      `node ${node.name}: Ready, region ${labels[regionLabel]}, zone ${labels[zoneLabel]} (${seconds(nodesStarted)})`,
    );
  }
  await installAddons();
  await start(provisioner);
  const imagesStarted = Date.now();
  const hub = await importProjectImages();
  say(`images: imported into ${nodes.length} nodes (${seconds(imagesStarted)}); the hub is ${hub}`);
  say(`up in ${seconds(started)}`);
  printAccess();
}

function printAccess(): void {
  say(`kubeconfig: ${adminKubeconfig}`);
  say(`  export KUBECONFIG=${adminKubeconfig}; ${binaries.kubectl} get nodes`);
  say('  ClusterIP Services answer from this host (kube-proxy, iptables mode); NodePorts on 127.0.0.1');
}

async function down(): Promise<void> {
  const started = Date.now();
  for (const name of ['volume-provisioner', 'kube-scheduler', 'kube-controller-manager']) await stop(name);
  for (const node of nodes) await stop(node.kubeletDaemon);
  for (const node of nodes) {
    if (runningPid(node.containerdDaemon) === undefined) continue;
    // Through CRI, so the CNI plugins release each pod's interface, address and port mappings.
    const removed = await crictl(node, ['rmp', '--all', '--force']).nothrow();
    say(`${node.name}: pods removed${removed.exitCode === 0 ? '' : `, with errors: ${removed.stderr.trim()}`}`);
  }
  for (const node of nodes) await stop(node.containerdDaemon);
  stopOrphanShims();
  for (const name of ['kube-proxy', 'coredns', 'api-relay', 'kube-apiserver', 'etcd']) await stop(name);
  await restoreHost();
  say(`down in ${seconds(started)}: host settings restored; data kept in ${stateDir}`);
}

/** Container shims of this cluster's containerds that outlived them (pods removed before are gone already). */
function stopOrphanShims(): void {
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const ours = nodes.some((node) => cmdline.includes(node.containerdSocket));
    if (cmdline[0]?.endsWith('containerd-shim-runc-v2') && ours) {
      say(`stopping leftover shim ${pid}`);
      process.kill(Number(pid), 'SIGKILL');
    }
  }
}

async function status(): Promise<void> {
  let allRunning = true;
  for (const daemon of daemons) {
    const pid = runningPid(daemon.name);
    const state = pid === undefined ? 'stopped' : (await daemon.ready().catch(() => false)) ? 'ready' : 'not ready';
    allRunning &&= state === 'ready';
    say(`${daemon.name.padEnd(24)} ${state}${pid === undefined ? '' : ` (pid ${pid})`}`);
  }
  if (runningPid('kube-apiserver') !== undefined) {
    for (const node of nodes) {
      const found = await getNode(node.name);
      const ready = await nodeReady(node.name);
      allRunning &&= ready === 'Ready';
      const where = `region ${found?.metadata.labels?.[regionLabel] ?? '-'}, zone ${found?.metadata.labels?.[zoneLabel] ?? '-'}`;
      const cordoned = found?.spec.unschedulable ? ', cordoned' : '';
      say(`node ${node.name.padEnd(19)} ${ready}${cordoned} (${node.bridge} ${node.podCidr}, ${where})`);
    }
  }
  say(
    'not installed: metrics-server, an ingress controller, a NetworkPolicy enforcer (the bridge CNI ignores policies)',
  );
  say(`cluster DNS: CoreDNS on ${bridgeGateway}:53 answers for cluster.local only, for both nodes' pods`);
  printAccess();
  if (!allRunning) process.exitCode = 3;
}

const [command, ...args] = process.argv.slice(2);
const actions: Record<string, (args: readonly string[]) => Promise<void>> = { up, down, status };
const action = command === undefined ? undefined : actions[command];
if (action === undefined) {
  console.error('usage: npm run cluster -- up [--region <location>] | down | status');
  process.exit(2);
}
try {
  await action(args);
} catch (error) {
  console.error(`[cluster] FAILED: ${(error as Error).message}`);
  process.exit(1);
}
