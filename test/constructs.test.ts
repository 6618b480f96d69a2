import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Chart, Testing as K8sTesting } from 'cdk8s';
import { App, TerraformStack, Testing } from 'cdktf';
import { parse } from 'yaml';
import { HcloudProvider } from '../.gen/providers/hcloud/provider';
import { SshKey } from '../.gen/providers/hcloud/ssh-key';
import { renderCloudConfig } from '../constructs/hetzner/cloud-config.ts';
import { cronToOnCalendar } from '../constructs/hetzner/roles/wal-shipping.ts';
import { OriginFirewall } from '../constructs/hetzner/origin-firewall.ts';
import { ServerGroup } from '../constructs/hetzner/server-group.ts';
import { blocks, type TerraformJson } from '../scripts/lib/terraform-json.ts';
import { hubListenerEnvironment } from '../constructs/hub-listeners.ts';
import { renderCompose, renderNginxConf } from '../constructs/hetzner/roles/single-node.ts';
import { serverMonitoringOf } from '../constructs/monitoring/servers.ts';
import { loadHetznerEnvironments } from '../environments/index.ts';
import { hubNodeCloudConfig, sentinelCloudConfig, valkeyNodeCloudConfig } from '../constructs/hetzner/roles/tier1.ts';
import { HubWorkload, type HubWorkloadProps } from '../constructs/k8s/hub.ts';

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

describe('hub listeners', () => {
  const listeners = { port: 8080, adminPort: 9090, trustedProxies: ['10.244.0.0/16'] };

  test('both listeners on every interface, the proxies trusted by range', () => {
    assert.deepEqual(
      hubListenerEnvironment({ ...listeners, trustedProxies: ['10.0.1.0/24', 'fd00::/8', '10.0.1.2'] }),
      {
        HUB_HOST: '0.0.0.0',
        HUB_PORT: '8080',
        HUB_ADMIN_HOST: '0.0.0.0',
        HUB_ADMIN_PORT: '9090',
        HUB_TRUSTED_PROXIES: '10.0.1.0/24,fd00::/8,10.0.1.2',
      },
    );
  });

  test('rejects the operations port on the public port', () => {
    assert.throws(
      () => hubListenerEnvironment({ ...listeners, adminPort: 8080 }),
      /adminPort must differ from the public port 8080/,
    );
  });

  test('rejects trusting no proxy, the whole internet, or something that is not an address', () => {
    for (const [trustedProxies, message] of [
      [[], /must list the proxies in front of the hub \(got none\)/],
      [['0.0.0.0/0'], /must not include the whole internet.*\(got 0\.0\.0\.0\/0\)/],
      [['10.0.0.0/8', '::/0'], /must not include the whole internet.*\(got ::\/0\)/],
      [['10.0.0.0/33'], /IP addresses or CIDR ranges \(got "10\.0\.0\.0\/33"\)/],
      [['ingress-nginx'], /IP addresses or CIDR ranges \(got "ingress-nginx"\)/],
    ] as const) {
      assert.throws(() => hubListenerEnvironment({ ...listeners, trustedProxies }), message);
    }
  });
});

describe('HubWorkload', () => {
  const props: HubWorkloadProps = {
    namespace: 'ringforge',
    image: `registry.example/hub@sha256:${'a'.repeat(64)}`,
    hostname: 'hub.example.org',
    minReplicas: 2,
    maxReplicas: 4,
    targetConnectionsPerReplica: 1000,
    drainSeconds: 25,
    requestsCpuMillis: 500,
    requestsMemoryMiB: 512,
    limitsCpuMillis: 1000,
    limitsMemoryMiB: 1024,
    trustedProxies: ['10.42.0.0/16'],
    redis: { sentinels: ['valkey-0.valkey-headless.data.svc.cluster.local:26379'], masterName: 'ringforge' },
  };
  const synth = (p: HubWorkloadProps) => {
    const chart = new Chart(K8sTesting.app(), 'hub');
    new HubWorkload(chart, 'Hub', p);
    return chart.toJson() as any[];
  };

  test('defaults: operations port 9090 beside the public 8080, WebSocket path /ws', () => {
    const objects = synth(props);
    const config = objects.find((o) => o.kind === 'ConfigMap').data;
    assert.equal(config.HUB_ADMIN_PORT, '9090');
    assert.equal(config.HUB_TRUSTED_PROXIES, '10.42.0.0/16');
    const [rule, ...others] = objects.find((o) => o.kind === 'HTTPRoute').spec.rules;
    assert.deepEqual(others, []);
    assert.deepEqual(
      rule.matches.map((m: any) => `${m.path.type} ${m.path.value}`),
      ['Exact /ws', 'Exact /api/health', 'Exact /api/ready'],
    );
    assert.deepEqual(rule.backendRefs, [{ name: 'hub', port: 8080 }]);
  });

  test('rejects an operations port equal to the public port, naming both', () => {
    assert.throws(
      () => synth({ ...props, port: 9000, adminPort: 9000 }),
      /adminPort must differ from the public port 9000/,
    );
  });

  test('rejects trusting the whole internet to say who the client is', () => {
    assert.throws(() => synth({ ...props, trustedProxies: ['0.0.0.0/0'] }), /must not include the whole internet/);
  });

  test('rejects a WebSocket path that is not an absolute path', () => {
    assert.throws(
      () => synth({ ...props, websocketPath: 'ws' }),
      /websocketPath must be an absolute URL path \(got ws\)/,
    );
  });
});

describe('tier 0 compose stack and proxy', () => {
  const props = {
    hubImage: `registry.example/hub@sha256:${'a'.repeat(64)}`,
    hostname: 'hub.example.org',
    hubPort: 8080,
    drainSeconds: 25,
    backup: {
      bucket: 'b',
      endpoint: 'https://s3.example.org',
      region: 'r',
      retentionDays: 7,
      schedule: '0 3 * * *',
      archiveTimeoutSeconds: 60,
      serverName: 's',
    },
    monitoring: serverMonitoringOf(loadHetznerEnvironments().find((e) => e.tier === 0)!),
  };

  test('the hub trusts the compose network it shares with nginx, whatever range is chosen', () => {
    const compose = parse(renderCompose({ ...props, networkCidr: '192.168.77.0/24', hubAdminPort: 9191 }));
    assert.deepEqual(compose.networks.default.ipam.config, [{ subnet: '192.168.77.0/24' }]);
    assert.equal(compose.services.hub.environment.HUB_TRUSTED_PROXIES, '192.168.77.0/24');
    assert.deepEqual(compose.services.hub.ports, ['127.0.0.1:9191:9191']);
  });

  test('nginx proxies a chosen WebSocket path exactly, and nothing under it', () => {
    const conf = renderNginxConf({ ...props, websocketPath: '/agents' });
    assert.match(conf, /location = \/agents \{\n {6}proxy_pass http:\/\/hub;/);
    assert.doesNotMatch(conf, /location \/agents|location = \/ws/);
  });

  test('rejects a compose network that is not an IPv4 range', () => {
    assert.throws(
      () => renderCompose({ ...props, networkCidr: 'fd00::/64' }),
      /networkCidr must be an IPv4 CIDR range/,
    );
  });
});

describe('tier 1 Valkey with Sentinel', () => {
  const sentinels = ['10.0.1.20:26379', '10.0.1.21:26379', '10.0.1.10:26379'];

  test('the hub asks the sentinels, with the password from a file mounted read-only', () => {
    const unit = hubNodeCloudConfig({
      hubImage: 'hub@sha256:x',
      hostname: 'hub.example.com',
      hubPort: 8080,
      drainSeconds: 25,
      privateIp: '10.0.1.41',
      sentinels,
    }).writeFiles!.find((f) => f.path === '/etc/systemd/system/ringforge-hub.service')!.content;
    assert.match(unit, new RegExp(`--env REDIS_SENTINELS=${sentinels.join(',')} `));
    assert.match(unit, / --env REDIS_SENTINEL_MASTER=ringforge /);
    assert.match(unit, / --env REDIS_PASSWORD_FILE=\/run\/secrets\/redis-password /);
    assert.match(unit, / --volume \/run\/ringforge\/redis-password:\/run\/secrets\/redis-password:ro /);
    assert.match(unit, /^ConditionPathExists=\/etc\/ringforge\/secrets\/redis-password$/m);
    assert.doesNotMatch(unit, /REDIS_URL/);
  });

  test('a sentinel waits for the password file and writes its config from it, quorum as given', () => {
    const config = sentinelCloudConfig({ privateIp: '10.0.1.21', primaryIp: '10.0.1.20', quorum: 2 });
    const [script, dropIn] = config.writeFiles!;
    assert.match(script!.content, /echo "sentinel monitor ringforge 10\.0\.1\.20 6379 2"/);
    assert.match(script!.content, /password=\$\(cat \/etc\/ringforge\/secrets\/redis-password\)/);
    assert.match(dropIn!.content, /^ConditionPathExists=\/etc\/ringforge\/secrets\/redis-password$/m);
    assert.match(dropIn!.content, /^ExecStartPre=\+\/usr\/local\/sbin\/ringforge-sentinel-config$/m);
    // No password on a command line: the config file carries it, written by a script that reads the file.
    assert.ok(config.runcmd!.flat().every((arg) => !/pass/i.test(String(arg))));
  });

  test("a Valkey server keeps replicaof in its own config file, which Sentinel's CONFIG REWRITE updates", () => {
    const replica = valkeyNodeCloudConfig({ privateIp: '10.0.1.21', primaryIp: '10.0.1.20' });
    const append = replica.runcmd!.find((c) => String(c).includes('/etc/redis/redis.conf'))!;
    assert.match(String(append.at(-1)), /'replicaof 10\.0\.1\.20 6379'/);
    assert.match(String(append.at(-1)), />> \/etc\/redis\/redis\.conf$/);
  });
});
