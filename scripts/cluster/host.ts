/*
 * The host settings a node changes, and how `down` puts them back. `up` records the values of every
 * sysctl the kubelet, kube-proxy, the CNI plugins or this script may set before any of them runs;
 * `down` restores them, removes the iptables chains they own (KUBE-*, CNI-*, RINGFORGE-* and the jumps
 * into them, leaving podman's and everyone else's alone), the bridge, the mounts under the state
 * directory, the kubelet's cgroups and its log links. Pods' traffic is kept on this machine: a
 * FORWARD rule rejects anything from the pod network to an address outside it.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import {
  bridgeGateway,
  bridgeName,
  clusterCidr,
  cniIpamDir,
  hostRecord,
  podCidr,
  podLogsDir,
  stateDir,
} from './layout.ts';

interface HostChanges {
  /** Each sysctl's value before the cluster first started (absent ones are not recorded). */
  readonly sysctls: Record<string, string>;
  readonly bridgeExisted: boolean;
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

const bridgeExists = () => existsSync(`/sys/class/net/${bridgeName}`);

/** Records the host's settings (once: a second `up` keeps the first record) and prepares the node's network. */
export async function prepareHost(): Promise<void> {
  if (!existsSync(hostRecord)) {
    const record: HostChanges = {
      sysctls: Object.fromEntries(
        sysctls.flatMap((name) => {
          const value = readSysctl(name);
          return value === undefined ? [] : [[name, value]];
        }),
      ),
      bridgeExisted: bridgeExists(),
    };
    writeFileSync(hostRecord, JSON.stringify(record, null, 2) + '\n');
  }
  // Service addresses are translated by iptables, which sees bridged pod-to-pod packets only so.
  await $`modprobe br_netfilter`.nothrow().quiet();
  writeFileSync(sysctlPath('net.bridge.bridge-nf-call-iptables'), '1');
  // The bridge exists before any pod does, so the pods' API relay can listen on its address.
  if (!bridgeExists()) {
    await $`ip link add ${bridgeName} type bridge`.quiet();
    await $`ip addr add ${`${bridgeGateway}/${podCidr.split('/')[1]}`} dev ${bridgeName}`.quiet();
  }
  await $`ip link set ${bridgeName} up`.quiet();
  await $`iptables -w -N ${egressChain}`.nothrow().quiet();
  await $`iptables -w -F ${egressChain}`.quiet();
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
  for (const point of new Set(mountsUnderState())) {
    if ((await $`umount ${point}`.nothrow().quiet()).exitCode !== 0) await $`umount -l ${point}`.nothrow().quiet();
  }
  for (const controller of existsSync(cgroupRoot) ? readdirSync(cgroupRoot) : []) {
    const kubepods = join(cgroupRoot, controller, 'kubepods');
    if (existsSync(kubepods)) {
      try {
        removeCgroups(kubepods);
      } catch (error) {
        console.log(`[cluster] could not remove ${kubepods}: ${(error as Error).message}`);
      }
    }
  }
  if (existsSync(containerLogLinks)) {
    for (const link of readdirSync(containerLogLinks)) {
      const path = join(containerLogLinks, link);
      try {
        if (readlinkSync(path).startsWith(`${podLogsDir}/`)) rmSync(path);
      } catch {
        // Not a link.
      }
    }
  }
  rmSync(cniIpamDir, { recursive: true, force: true });
  if (!existsSync(hostRecord)) return;
  const record = JSON.parse(readFileSync(hostRecord, 'utf8')) as HostChanges;
  if (!record.bridgeExisted && bridgeExists()) await $`ip link delete ${bridgeName}`.quiet();
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
