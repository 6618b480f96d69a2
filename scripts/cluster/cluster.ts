/*
 * `npm run cluster -- up|down|status`: a single-node Kubernetes on this machine, built from source
 * (scripts/cluster/build.sh), every listener on loopback and pods on a local bridge.
 *   up      builds what is missing, starts etcd, the control plane, containerd, the kubelet and
 *           kube-proxy, installs ../shared/crds and the `hcloud-volumes` class, imports the local
 *           images, and prints the kubeconfig. Running it again starts only what is not running.
 *   down    removes the pods, stops every daemon `up` started and restores the host's settings.
 *   status  each daemon, the node, the kubeconfig, and what this cluster does not have.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { $ } from 'zx';
import { waitFor } from '../containers/podman.ts';
import { repoRoot } from '../lib/tools.ts';
import { apiGet } from './api.ts';
import { writeConfigs } from './configs.ts';
import { controlPlane, daemons, node, provisioner } from './daemons.ts';
import { prepareHost, restoreHost } from './host.ts';
import { crictl, importPauseImage, importProjectImages } from './images.ts';
import {
  adminKubeconfig,
  binaries,
  bridgeGateway,
  containerdSocket,
  crdDir,
  kubernetesVersion,
  missingBinaries,
  nodeName,
  stateDir,
  storageClassName,
} from './layout.ts';
import { ensurePki } from './pki.ts';
import { runningPid, start, stop } from './processes.ts';
import { provisionerName } from './provisioner.ts';

const say = (message: string) => console.log(`[cluster] ${message}`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

const kubectl = (args: readonly string[], input?: string) =>
  $({ quiet: true, input })`${binaries.kubectl} --kubeconfig ${adminKubeconfig} ${args}`;

interface NodeObject {
  status: { conditions?: { type: string; status: string; message?: string; lastHeartbeatTime: string }[] };
}

/** The node's Ready condition; one reported before `since` (a node object left from an earlier run) is stale. */
async function nodeReady(since = 0): Promise<string> {
  const found = await apiGet<NodeObject>(`/api/v1/nodes/${nodeName}`).catch(() => undefined);
  const ready = found?.status.conditions?.find((c) => c.type === 'Ready');
  if (ready === undefined) return 'not registered';
  if (Date.parse(ready.lastHeartbeatTime) < since) return 'no status from this kubelet yet';
  return ready.status === 'True' ? 'Ready' : `NotReady: ${ready.message}`;
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

async function up(): Promise<void> {
  const started = Date.now();
  say(`building (cached after the first run) Kubernetes v${kubernetesVersion}`);
  await $({ stdio: 'inherit' })`bash ${join(repoRoot, 'scripts', 'cluster', 'build.sh')}`;
  const missing = missingBinaries();
  if (missing.length > 0) throw new Error(`build.sh left these missing: ${missing.join(', ')}`);
  say(`state in ${stateDir}`);
  await ensurePki();
  writeConfigs();
  await prepareHost();
  for (const daemon of controlPlane) await start(daemon);
  await start(node.containerd);
  await importPauseImage();
  // A kubelet started now reports at once; heartbeats carry whole seconds.
  const nodeStarted = Math.floor(Date.now() / 1000) * 1000;
  const since = (await start(node.kubelet)) ? nodeStarted : 0;
  await start(node.kubeProxy);
  await waitFor(`node ${nodeName} Ready`, 120, async () => (await nodeReady(since)) === 'Ready');
  say(`node ${nodeName}: Ready (${seconds(nodeStarted)})`);
  await installAddons();
  await start(provisioner);
  const imagesStarted = Date.now();
  const hub = await importProjectImages();
  say(`images: imported (${seconds(imagesStarted)}); the hub is ${hub}`);
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
  for (const name of ['volume-provisioner', 'kube-scheduler', 'kube-controller-manager', 'kubelet']) await stop(name);
  if (runningPid('containerd') !== undefined) {
    // Through CRI, so the CNI plugins release each pod's interface, address and port mappings.
    const removed = await crictl(['rmp', '--all', '--force']).nothrow();
    say(`pods removed${removed.exitCode === 0 ? '' : `, with errors: ${removed.stderr.trim()}`}`);
  }
  await stop('containerd');
  stopOrphanShims();
  for (const name of ['kube-proxy', 'coredns', 'api-relay', 'kube-apiserver', 'etcd']) await stop(name);
  await restoreHost();
  say(`down in ${seconds(started)}: host settings restored; data kept in ${stateDir}`);
}

/** Container shims of this cluster's containerd that outlived it (pods removed before are gone already). */
function stopOrphanShims(): void {
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (cmdline[0]?.endsWith('containerd-shim-runc-v2') && cmdline.includes(containerdSocket)) {
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
  if (runningPid('kube-apiserver') !== undefined) say(`node ${nodeName}: ${await nodeReady()}`);
  say(
    'not installed: metrics-server, an ingress controller, a NetworkPolicy enforcer (the bridge CNI ignores policies)',
  );
  say(`cluster DNS: CoreDNS on ${bridgeGateway}:53 answers for cluster.local only`);
  printAccess();
  if (!allRunning) process.exitCode = 3;
}

const command = process.argv[2];
const actions: Record<string, () => Promise<void>> = { up, down, status };
const action = command === undefined ? undefined : actions[command];
if (action === undefined) {
  console.error('usage: npm run cluster -- up|down|status');
  process.exit(2);
}
try {
  await action();
} catch (error) {
  console.error(`[cluster] FAILED: ${(error as Error).message}`);
  process.exit(1);
}
