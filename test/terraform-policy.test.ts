import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkTerraformPolicy } from '../stacks/policy/terraform-policy.ts';
import { hetznerEnvironment, synthEnvironment, tier1Environment } from './helpers/synth.ts';

// Every check runs on real synthesized stacks, then on a copy broken in exactly one way.
const baseline = {
  ...synthEnvironment(hetznerEnvironment('dev')),
  ...synthEnvironment(tier1Environment()),
  ...synthEnvironment(hetznerEnvironment('staging')),
};

function violationsAfter(stack: string, change: (doc: any) => void) {
  const copy = structuredClone(baseline[stack]!);
  change(copy);
  return checkTerraformPolicy({ [stack]: copy });
}

const first = (doc: any, type: string) => Object.values(doc.resource[type])[0] as any;

describe('Terraform policy', () => {
  test('the synthesized stacks of every tier pass', () => {
    assert.deepEqual(checkTerraformPolicy(baseline), []);
  });

  test('HC-1 rejects SSH from the whole internet', () => {
    const v = violationsAfter('dev-infra', (d) => first(d, 'hcloud_firewall').rule[0].source_ips.push('0.0.0.0/0'));
    assert.deepEqual(
      v.map((x) => [x.rule, x.message]),
      [['HC-1', 'port 22 is open to the whole internet; admit admin networks only']],
    );
  });

  test('HC-1 rejects the Kubernetes API from the whole internet, also through a port range', () => {
    const v = violationsAfter('staging-infra', (d) =>
      first(d, 'hcloud_firewall').rule.push({
        direction: 'in',
        protocol: 'tcp',
        port: '6000-7000',
        source_ips: ['::/0'],
      }),
    );
    assert.deepEqual(
      v.map((x) => x.rule),
      ['HC-1'],
    );
    assert.match(v[0]!.message, /port 6443/);
  });

  test('HC-2 rejects a server no firewall applies to', () => {
    const v = violationsAfter('dev-infra', (d) => (first(d, 'hcloud_server').labels['ringforge/role'] = 'orphan'));
    assert.deepEqual(
      v.map((x) => x.rule),
      ['HC-2'],
    );
    assert.match(v[0]!.address, /^hcloud_server\.Single_Server1_/);
  });

  test('HC-3 rejects a server without SSH keys', () => {
    const v = violationsAfter('dev-infra', (d) => (first(d, 'hcloud_server').ssh_keys = []));
    assert.deepEqual(
      v.map((x) => [x.rule, x.message]),
      [['HC-3', 'server has no SSH keys']],
    );
  });

  test('HC-3 rejects cloud-init that leaves password logins on', () => {
    const v = violationsAfter('dev-infra', (d) => {
      const server = first(d, 'hcloud_server');
      server.user_data = server.user_data.replace('ssh_pwauth: false', 'ssh_pwauth: true');
    });
    assert.deepEqual(
      v.map((x) => x.rule),
      ['HC-3'],
    );
  });

  test('HC-4 rejects a load balancer serving plain HTTP', () => {
    const v = violationsAfter('ha-infra', (d) => {
      const service = first(d, 'hcloud_load_balancer_service');
      service.protocol = 'http';
      service.listen_port = 80;
    });
    assert.deepEqual(
      v.map((x) => x.rule),
      ['HC-4'],
    );
  });

  test('HC-8 rejects a load balancer that terminates TLS: it cannot require the origin-pull certificate', () => {
    const v = violationsAfter('ha-infra', (d) => {
      const service = first(d, 'hcloud_load_balancer_service');
      service.protocol = 'https';
      service.http = { certificates: [1], redirect_http: true };
    });
    assert.deepEqual(
      v.map((x) => [x.rule, x.address.replace(/_[0-9A-F]{8}$/, '')]),
      [['HC-8', 'hcloud_load_balancer_service.LoadBalancer_Tls']],
    );
  });

  test('HC-5 rejects a zone without strict TLS', () => {
    const v = violationsAfter('dev-edge', (d) => {
      const ssl = Object.values(d.resource.cloudflare_zone_setting).find((s: any) => s.setting_id === 'ssl') as any;
      ssl.value = 'flexible';
    });
    assert.deepEqual(
      v.map((x) => [x.rule, x.message]),
      [['HC-5', 'zone setting ssl must be "strict" (got "flexible")']],
    );
  });

  test('HC-5 rejects web ports open to anything but Cloudflare', () => {
    const v = violationsAfter(
      'dev-infra',
      (d) => (first(d, 'hcloud_firewall').rule[2].source_ips = ['198.51.100.0/24']),
    );
    assert.deepEqual(
      v.map((x) => x.rule),
      ['HC-5'],
    );
  });

  test('HC-8 rejects an edge without Authenticated Origin Pulls', () => {
    const v = violationsAfter(
      'dev-edge',
      (d) => (first(d, 'cloudflare_authenticated_origin_pulls_settings').enabled = false),
    );
    assert.deepEqual(
      v.map((x) => [x.rule, x.address]),
      [['HC-8', 'cloudflare_authenticated_origin_pulls_settings']],
    );
  });

  test('HC-8 rejects an edge whose public allowlist holds a private path, or that has none', () => {
    const custom = (d: any) =>
      Object.values(d.resource.cloudflare_ruleset).find((r: any) => r.phase === 'http_request_firewall_custom') as any;
    const leaky = violationsAfter('dev-edge', (d) => {
      const rule = custom(d).rules.find((r: any) => r.expression.startsWith('(not '));
      rule.expression = rule.expression.replace('"/ws"', '"/ws" "/metrics"');
    });
    assert.deepEqual(
      leaky.map((x) => [x.rule, x.message]),
      [['HC-8', 'the public allowlist lets the private path /metrics through']],
    );
    const open = violationsAfter('dev-edge', (d) => {
      custom(d).rules = custom(d).rules.filter((r: any) => !r.expression.startsWith('(not '));
    });
    assert.deepEqual(
      open.map((x) => x.rule),
      ['HC-8'],
    );
  });

  test('HC-6 rejects a secret variable that is not sensitive', () => {
    const v = violationsAfter('staging-infra', (d) => delete d.variable.k3s_token.sensitive);
    assert.deepEqual(
      v.map((x) => [x.rule, x.address]),
      [['HC-6', 'var.k3s_token']],
    );
  });

  test('HC-6 rejects an output that carries a secret in the clear', () => {
    const v = violationsAfter('staging-infra', (d) => (d.output.join_token = { value: '${var.k3s_token}' }));
    assert.deepEqual(
      v.map((x) => [x.rule, x.address]),
      [['HC-6', 'output.join_token']],
    );
  });

  test('HC-6 rejects unencrypted or unlocked state, and local state', () => {
    assert.deepEqual(
      violationsAfter('dev-edge', (d) => (d.terraform.backend.s3.encrypt = false)).map((x) => x.message),
      ['state is not encrypted (encrypt: true)'],
    );
    assert.deepEqual(
      violationsAfter('dev-edge', (d) => delete d.terraform.backend.s3.use_lockfile).map((x) => x.message),
      ['state has no locking (use_lockfile: true)'],
    );
    assert.deepEqual(
      violationsAfter('dev-edge', (d) => (d.terraform.backend = { local: {} })).map((x) => x.message),
      ['state must live in the encrypted S3 backend (got local)'],
    );
  });

  test('HC-7 rejects a provider without an exact version', () => {
    const v = violationsAfter('dev-edge', (d) => (d.terraform.required_providers.cloudflare.version = '~> 5.0'));
    assert.deepEqual(
      v.map((x) => [x.rule, x.message]),
      [['HC-7', 'provider version must be pinned exactly (got "~> 5.0")']],
    );
  });
});
