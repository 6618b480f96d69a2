import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, TerraformStack, Testing } from 'cdktf';
import { parse } from 'yaml';
import { HcloudProvider } from '../.gen/providers/hcloud/provider';
import { SshKey } from '../.gen/providers/hcloud/ssh-key';
import { renderCloudConfig } from '../constructs/hetzner/cloud-config.ts';
import { cronToOnCalendar } from '../constructs/hetzner/roles/wal-shipping.ts';
import { OriginFirewall } from '../constructs/hetzner/origin-firewall.ts';
import { ServerGroup } from '../constructs/hetzner/server-group.ts';
import { blocks, type TerraformJson } from '../scripts/lib/terraform-json.ts';

function scratchStack() {
  const stack = new TerraformStack(new App(), 'scratch');
  new HcloudProvider(stack, 'hcloud', {});
  return stack;
}

const firewallProps = { name: 'fw', appliesTo: 'role=x', labels: {} };

describe('OriginFirewall', () => {
  test('rejects SSH from the whole internet, by the offending CIDR', () => {
    assert.throws(
      () => new OriginFirewall(scratchStack(), 'Fw', { ...firewallProps, adminCidrs: ['203.0.113.0/24', '::/0'] }),
      /adminCidrs must not include the whole internet \(got ::\/0\)/,
    );
  });

  test('rejects an empty admin list', () => {
    assert.throws(
      () => new OriginFirewall(scratchStack(), 'Fw', { ...firewallProps, adminCidrs: [] }),
      /at least one network/,
    );
  });

  test('opens no web ports unless sources are given', () => {
    const stack = scratchStack();
    new OriginFirewall(stack, 'Fw', { ...firewallProps, adminCidrs: ['203.0.113.0/24'] });
    const doc = JSON.parse(Testing.synth(stack)) as TerraformJson;
    const rules = (blocks(doc)[0]!.body as any).rule as { port?: string }[];
    assert.deepEqual(
      rules.map((r) => r.port ?? 'icmp'),
      ['22', 'icmp'],
    );
  });
});

describe('ServerGroup', () => {
  const props = (stack: TerraformStack, count: number) => ({
    namePrefix: 'hub',
    count,
    serverType: 'cx23',
    location: 'fsn1',
    sshKeys: [new SshKey(stack, `Key${count}`, { name: 'k', publicKey: 'ssh-ed25519 AAAA' })],
    userData: () => renderCloudConfig({}),
    labels: { role: 'hub' },
  });

  test('spreads two or more servers over hosts with a placement group', () => {
    const stack = scratchStack();
    new ServerGroup(stack, 'Hubs', props(stack, 3));
    const doc = JSON.parse(Testing.synth(stack)) as TerraformJson;
    const servers = blocks(doc).filter((b) => b.type === 'hcloud_server');
    const groups = blocks(doc).filter((b) => b.type === 'hcloud_placement_group');
    assert.equal(servers.length, 3);
    assert.equal(groups.length, 1);
    assert.equal((groups[0]!.body as any).type, 'spread');
    assert.deepEqual(
      servers.map((s) => (s.body as any).name),
      ['hub-1', 'hub-2', 'hub-3'],
    );
    for (const s of servers)
      assert.match(String((s.body as any).placement_group_id), /hcloud_placement_group\.Hubs_Spread_[A-F0-9]+\.id/);
  });

  test('leaves a single server without a placement group', () => {
    const stack = scratchStack();
    new ServerGroup(stack, 'One', props(stack, 1));
    const doc = JSON.parse(Testing.synth(stack)) as TerraformJson;
    assert.equal(blocks(doc).filter((b) => b.type === 'hcloud_placement_group').length, 0);
  });

  test('rejects a count of zero', () => {
    const stack = scratchStack();
    assert.throws(() => new ServerGroup(stack, 'None', props(stack, 0)), /count must be an integer >= 1 \(got 0\)/);
  });
});

describe('renderCloudConfig', () => {
  test('renders valid cloud-config with password logins disabled', () => {
    const text = renderCloudConfig({ packages: ['docker.io'], writeFiles: [{ path: '/etc/x', content: 'a: 1\n' }] });
    assert.ok(text.startsWith('#cloud-config\n'));
    const doc = parse(text) as Record<string, any>;
    assert.equal(doc.ssh_pwauth, false);
    assert.deepEqual(doc.packages, ['docker.io']);
    assert.deepEqual(doc.write_files, [{ path: '/etc/x', content: 'a: 1\n', permissions: '0644', owner: 'root:root' }]);
    assert.ok(doc.runcmd.some((c: string[]) => c.join(' ').includes('PasswordAuthentication no')));
  });
});

describe('cronToOnCalendar', () => {
  test('converts the cron forms the environments use', () => {
    assert.equal(cronToOnCalendar('0 3 * * *'), '*-*-* 3:0:00');
    assert.equal(cronToOnCalendar('*/15 * * * *'), '*-*-* *:0/15:00');
    assert.equal(cronToOnCalendar('30 2 * * 0,3'), 'Sun,Wed *-*-* 2:30:00');
  });

  test('rejects anything but five fields, naming the input', () => {
    assert.throws(() => cronToOnCalendar('0 3 * *'), /five cron fields \(got "0 3 \* \*"\)/);
  });
});
