/*
 * The host settings the nodes change, and how `down` puts them back. `up` records the values of every
 * sysctl the kubelets, kube-proxy, the CNI plugins or this script may set before any of them runs,
 * and which of the nodes' bridges existed; `down` restores them, removes the iptables chains they own
 * (KUBE-*, CNI-*, RINGFORGE-* and the jumps into them, leaving podman's and everyone else's alone),
 * pod network namespaces and veths left on a node's bridge, the bridges, the mounts under the state
 * directory (every node's directories are there), each kubelet's cgroups and log links.
 * Pods' traffic is kept on this machine: a FORWARD rule accepts pod-to-pod traffic (between the two
 * bridges this host routes it) and rejects anything from the pod network to an address outside it.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { clusterCidr, hostRecord, nodes, stateDir, type NodeLayout } from './layout.ts';

export interface HostChanges {
  /** Each sysctl's value before the cluster first started (absent ones are not recorded). */
  readonly sysctls: Record<string, string>;
  /** Whether each node's bridge existed before the cluster first made it. */
  readonly bridgesExisted?: Record<string, boolean>;
  /** Whether cni0 existed, in a record written before there was a second node. */
  readonly bridgeExisted?: boolean;
}

const sysctls = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.route_localnet',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.netfilter.nf_conntrack_max',
];
const sysctlPath = (name: string) => join('/proc/sys', ...name.split('.'));
const ownedChain = /^(KUBE-|CNI-|RINGFORGE-)/;
const egressChain = 'RINGFORGE-POD-EGRESS';
const cgroupRoot = '/sys/fs/cgroup';
const containerLogLinks = '/var/log/containers';

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(sysctlPath(name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

const bridgeExists = (bridge: string) => existsSync(`/sys/class/net/${bridge}`);

/** Which bridges existed before the cluster made them; a record from before node 2 names cni0 only. */
export function bridgesExisted(record: HostChanges): Record<string, boolean> {
  return record.bridgesExisted ?? (record.bridgeExisted === undefined ? {} : { cni0: record.bridgeExisted });
}

/** Every cgroup hierarchy's directory for a node's cgroup root (none for a node at the root). */
function cgroupRootDirs(node: NodeLayout): string[] {
  if (node.cgroupRoot === undefined || !existsSync(cgroupRoot)) return [];
  return readdirSync(cgroupRoot).map((hierarchy) => join(cgroupRoot, hierarchy, node.cgroupRoot!));
}

/** The kubelet wants its cgroup root to exist in every hierarchy; a new cpuset gets its parent's CPUs and memory nodes. */
function makeCgroupRoot(node: NodeLayout): void {
  for (const dir of cgroupRootDirs(node)) {
    if (existsSync(dir)) continue;
    mkdirSync(dir);
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const parent = join(dir, '..', file);
      if (existsSync(parent)) writeFileSync(join(dir, file), readFileSync(parent, 'utf8').trim());
    }
  }
}

/** Records the host's settings (once: a second `up` keeps the first record) and prepares the nodes' networks. */
export async function prepareHost(): Promise<void> {
  const record: HostChanges = existsSync(hostRecord)
    ? (JSON.parse(readFileSync(hostRecord, 'utf8')) as HostChanges)
    : {
        sysctls: Object.fromEntries(
          sysctls.flatMap((name) => {
            const value = readSysctl(name);
            return value === undefined ? [] : [[name, value]];
          }),
        ),
      };
  const existed = bridgesExisted(record);
  const unrecorded = nodes.filter((node) => !(node.bridge in existed));
  if (!existsSync(hostRecord) || unrecorded.length > 0) {
    for (const node of unrecorded) existed[node.bridge] = bridgeExists(node.bridge);
    const updated: HostChanges = { sysctls: record.sysctls, bridgesExisted: existed };
    writeFileSync(hostRecord, JSON.stringify(updated, null, 2) + '\n');
  }
  // Service addresses are translated by iptables, which sees bridged pod-to-pod packets only so.
  await $`modprobe br_netfilter`.nothrow().quiet();
  writeFileSync(sysctlPath('net.bridge.bridge-nf-call-iptables'), '1');
  for (const node of nodes) {
    // The bridge exists before any pod does, so its address is the node's IP at once (and node 1's
    // is where the API relay and CoreDNS listen for every pod).
    if (!bridgeExists(node.bridge)) {
      await $`ip link add ${node.bridge} type bridge`.quiet();
      await $`ip addr add ${`${node.nodeIp}/${node.podCidr.split('/')[1]}`} dev ${node.bridge}`.quiet();
    }
    await $`ip link set ${node.bridge} up`.quiet();
    makeCgroupRoot(node);
  }
  await $`iptables -w -N ${egressChain}`.nothrow().quiet();
  await $`iptables -w -F ${egressChain}`.quiet();
  // Pod to pod, between the bridges too, whatever later FORWARD rules (podman's) or the policy say;
  // kube-proxy puts its own FORWARD rules first, so they still apply before this.
  await $`iptables -w -A ${egressChain} -s ${clusterCidr} -d ${clusterCidr} -j ACCEPT`.quiet();
  await $`iptables -w -A ${egressChain} -s ${clusterCidr} ! -d ${clusterCidr} -j REJECT`.quiet();
  if ((await $`iptables -w -C FORWARD -j ${egressChain}`.nothrow().quiet()).exitCode !== 0) {
    await $`iptables -w -I FORWARD 1 -j ${egressChain}`.quiet();
  }
}

/**
 * The iptables-restore script that deletes, from one table's `iptables-save` output, the chains the
 * cluster owns and every jump into them from other chains; undefined when it owns none there.
 */
export function chainRemovalScript(table: string, saved: string): string | undefined {
  const lines = saved.split('\n');
  const owned = lines.flatMap((line) => {
    const name = /^:(\S+)/.exec(line)?.[1];
    return name !== undefined && ownedChain.test(name) ? [name] : [];
  });
  if (owned.length === 0) return undefined;
  const jumps = lines.filter((line) => {
    const rule = /^-A (\S+) .*-[jg] (\S+)/.exec(line);
    return rule !== null && !ownedChain.test(rule[1]!) && ownedChain.test(rule[2]!);
  });
  return [
    `*${table}`,
    ...jumps.map((line) => line.replace(/^-A /, '-D ')),
    ...owned.map((chain) => `-F ${chain}`),
    ...owned.map((chain) => `-X ${chain}`),
    'COMMIT',
    '',
  ].join('\n');
}

/** Deletes the chains the cluster owns and every jump into them, one atomic restore per table. */
async function removeChains(command: 'iptables' | 'ip6tables'): Promise<void> {
  for (const table of ['filter', 'nat', 'mangle']) {
    const saved = await $`${command}-save -t ${table}`.nothrow().quiet();
    const script = saved.exitCode === 0 ? chainRemovalScript(table, saved.stdout) : undefined;
    if (script !== undefined) await $({ input: script, quiet: true })`${command}-restore -w --noflush`;
  }
}

/** Mount points under the state directory (the kubelet's volumes, containerd's rootfs and shm), deepest first. */
function mountsUnderState(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && point.startsWith(`${stateDir}/`))
    .map((point) => point.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
}

/** Whether an IPv4 address is inside a CIDR. */
export function inCidr(address: string, cidr: string): boolean {
  const toNumber = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(address) / size) === Math.floor(toNumber(base!) / size);
}

/** The IPv4 addresses in `ip -o -4 addr show` output. */
export function ipv4Addresses(output: string): string[] {
  return [...output.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((match) => match[1]!);
}

/**
 * Network namespaces containerd made for pods (cni-*) that still hold a node's pod address: left when
 * containerd stopped before removing its pods. Deleting one deletes its veth pair.
 */
async function removeLeftoverNetns(): Promise<void> {
  const listed = await $`ip netns list`.nothrow().quiet();
  for (const name of listed.stdout.split('\n').map((line) => line.split(' ')[0] ?? '')) {
    if (!name.startsWith('cni-')) continue;
    const addrs = await $`ip netns exec ${name} ip -o -4 addr show`.nothrow().quiet();
    const ours = ipv4Addresses(addrs.stdout).some((ip) => nodes.some((node) => inCidr(ip, node.podCidr)));
    if (ours) {
      await $`ip netns delete ${name}`.nothrow().quiet();
      console.log(`[cluster] network namespace ${name} removed`);
    }
  }
}

/** Veths still attached to a node's bridge. */
async function removeLeftoverVeths(node: NodeLayout): Promise<void> {
  if (!bridgeExists(node.bridge)) return;
  const listed = await $`ip -o link show master ${node.bridge}`.nothrow().quiet();
  for (const name of listed.stdout.split('\n').flatMap((line) => /^\d+: ([^@:]+)/.exec(line)?.[1] ?? [])) {
    await $`ip link delete ${name}`.nothrow().quiet();
    console.log(`[cluster] ${name} removed from ${node.bridge}`);
  }
}

function removeCgroups(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroups(join(dir, entry.name));
  }
  rmdirSync(dir);
}

/** Undoes what `prepareHost` and the node's components changed; safe when nothing was changed. */
export async function restoreHost(): Promise<void> {
  await removeChains('iptables');
  await removeChains('ip6tables');
  await removeLeftoverNetns();
  for (const node of nodes) await removeLeftoverVeths(node);
  for (const point of new Set(mountsUnderState())) {
    if ((await $`umount ${point}`.nothrow().quiet()).exitCode !== 0) await $`umount -l ${point}`.nothrow().quiet();
  }
  // Node 1's kubelet keeps `kubepods` at each hierarchy's root; a later node's is in its own cgroup root.
  const hierarchies = existsSync(cgroupRoot) ? readdirSync(cgroupRoot) : [];
  const cgroupDirs = [
    ...hierarchies.map((hierarchy) => join(cgroupRoot, hierarchy, 'kubepods')),
    ...nodes.flatMap(cgroupRootDirs),
  ];
  for (const dir of cgroupDirs.filter((d) => existsSync(d))) {
    try {
      removeCgroups(dir);
    } catch (error) {
      console.log(`[cluster] could not remove ${dir}: ${(error as Error).message}`);
    }
  }
  if (existsSync(containerLogLinks)) {
    for (const link of readdirSync(containerLogLinks)) {
      const path = join(containerLogLinks, link);
      try {
        const target = readlinkSync(path);
        if (nodes.some((node) => target.startsWith(`${node.podLogsDir}/`))) rmSync(path);
      } catch {
        // Not a link.
      }
    }
  }
  for (const node of nodes) rmSync(node.cniIpamDir, { recursive: true, force: true });
  if (!existsSync(hostRecord)) return;
  const record = JSON.parse(readFileSync(hostRecord, 'utf8')) as HostChanges;
  const existed = bridgesExisted(record);
  for (const node of nodes) {
    if (existed[node.bridge] === false && bridgeExists(node.bridge)) await $`ip link delete ${node.bridge}`.quiet();
  }
  for (const [name, value] of Object.entries(record.sysctls)) {
    if (readSysctl(name) !== value) {
      try {
        writeFileSync(sysctlPath(name), value);
        console.log(`[cluster] ${name} restored to ${value}`);
      } catch (error) {
        console.log(`[cluster] could not restore ${name} to ${value}: ${(error as Error).message}`);
      }
    }
  }
  rmSync(hostRecord);
}
