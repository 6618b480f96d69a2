import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCidr, nodeLayout, nodes } from '../../scripts/cluster/layout.ts';
import { inCidr } from '../../scripts/cluster/host.ts';

test('node 1 keeps the names, paths and ports it had as the only node; node 2 has its own', () => {
  // Each field for [node 1, node 2].
  const expected = {
    name: ['ringforge-node', 'ringforge-node-2'],
    containerdDaemon: ['containerd', 'containerd-2'],
    kubeletDaemon: ['kubelet', 'kubelet-2'],
    kubeletIdentity: ['kubelet', 'kubelet-ringforge-node-2'],
    bridge: ['cni0', 'cni1'],
    podCidr: ['10.244.0.0/24', '10.244.1.0/24'],
    nodeIp: ['10.244.0.1', '10.244.1.1'],
    kubeletPort: [10250, 10350],
    kubeletHealthzPort: [10248, 10348],
    cgroupRoot: [undefined, '/ringforge-node-2'],
  } as const;
  for (const [key, values] of Object.entries(expected)) {
    assert.deepEqual(
      nodes.map((node) => node[key as keyof typeof expected]),
      values,
      key,
    );
  }
  assert.ok(!nodeLayout(0).containerdSocket.includes('/nodes/'));
  assert.ok(nodeLayout(1).containerdSocket.includes('/nodes/ringforge-node-2/'));
  for (const node of nodes) assert.ok(inCidr(node.nodeIp, node.podCidr) && inCidr(node.nodeIp, clusterCidr));
});

test('no two nodes share a name, daemon, bridge, network, port, file or directory', () => {
  const keys = [
    'name',
    'containerdDaemon',
    'kubeletDaemon',
    'bridge',
    'podCidr',
    'nodeIp',
    'kubeletPort',
    'kubeletHealthzPort',
    'cgroupRoot',
    'kubeletDir',
    'podLogsDir',
    'containerdRoot',
    'containerdState',
    'containerdSocket',
    'cniConfDir',
    'cniIpamDir',
    'kubeletConfig',
    'containerdConfig',
    'kubeletIdentity',
  ] as const;
  for (const key of keys) {
    const values = nodes.map((node) => node[key]);
    assert.equal(new Set(values).size, values.length, key);
  }
  // The control plane's ports (controller-manager 10257, scheduler 10259, kube-proxy 10249/10256).
  const taken = new Set([10249, 10256, 10257, 10259]);
  for (const node of nodes) assert.ok(!taken.has(node.kubeletPort) && !taken.has(node.kubeletHealthzPort));
  // A node's directories are not inside another's: `down` unmounts and removes by prefix.
  for (const a of nodes) {
    for (const b of nodes.filter((n) => n !== a)) {
      for (const dir of ['kubeletDir', 'podLogsDir', 'containerdRoot'] as const) {
        assert.ok(!`${b[dir]}/`.startsWith(`${a[dir]}/`), `${b.name} ${dir} inside ${a.name}'s`);
      }
    }
  }
  // Unix socket paths are limited to 107 bytes; containerd adds `.ttrpc` for its second socket.
  for (const node of nodes) assert.ok(`${node.containerdSocket}.ttrpc`.length < 108, node.containerdSocket);
});
