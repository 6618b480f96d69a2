import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { blocks, type TerraformJson } from '../scripts/lib/terraform-json.ts';
import { toolVersions } from '../scripts/lib/tools.ts';
import { CLOUDFLARE_PROVIDER_VERSION } from '../stacks/providers.ts';
import { hetznerEnvironment, synthEnvironment } from './helpers/synth.ts';

const only = (doc: TerraformJson, type: string) => {
  const found = blocks(doc).filter((b) => b.type === type);
  assert.equal(found.length, 1, `expected exactly one ${type}, found ${found.length}`);
  return found[0]!.body as Record<string, any>;
};

describe('tier 0 stacks (dev)', () => {
  const env = hetznerEnvironment('dev');
  const stacks = synthEnvironment(env);

  test('are dev-infra and dev-edge', () => {
    assert.deepEqual(Object.keys(stacks).sort(), ['dev-edge', 'dev-infra']);
  });

  test('the firewall admits SSH only from admin networks and web ports only from Cloudflare', () => {
    const firewall = only(stacks['dev-infra']!, 'hcloud_firewall');
    const byPort = Object.fromEntries(firewall.rule.filter((r: any) => r.port).map((r: any) => [r.port, r]));
    assert.deepEqual(Object.keys(byPort).sort(), ['22', '443', '80']);
    assert.deepEqual(byPort['22'].source_ips, env.adminCidrs);
    for (const port of ['80', '443']) {
      assert.equal(
        byPort[port].source_ips,
        '${concat(data.cloudflare_ip_ranges.CloudflareRanges.ipv4_cidrs, data.cloudflare_ip_ranges.CloudflareRanges.ipv6_cidrs)}',
      );
    }
    assert.ok(firewall.rule.every((r: any) => r.direction === 'in'));
  });

  test('the firewall applies to the server by its labels', () => {
    const firewall = only(stacks['dev-infra']!, 'hcloud_firewall');
    const server = only(stacks['dev-infra']!, 'hcloud_server');
    const selector: string = firewall.apply_to[0].label_selector;
    for (const term of selector.split(',')) {
      const [key, value] = term.split('=');
      assert.equal(server.labels[key!], value, `server lacks label ${term}`);
    }
  });

  test('the server is sized from the environment, protected, keyed and hardened', () => {
    const server = only(stacks['dev-infra']!, 'hcloud_server');
    assert.equal(server.server_type, 'cx33');
    assert.equal(server.location, 'fsn1');
    assert.equal(server.delete_protection, true);
    assert.deepEqual(server.ssh_keys, ['${hcloud_ssh_key.AdminKey.id}']);
    assert.deepEqual(server.labels, {
      'ringforge/environment': 'dev',
      'ringforge/managed-by': 'cdktf',
      'ringforge/role': 'single',
      'ringforge/tier': '0',
    });
    const cloudConfig = parse(server.user_data) as Record<string, unknown>;
    assert.ok(server.user_data.startsWith('#cloud-config\n'));
    assert.equal(cloudConfig.ssh_pwauth, false);
  });

  test('the hub hostname is proxied to the origin from the infra stack', () => {
    const records = blocks(stacks['dev-edge']!).filter((b) => b.type === 'cloudflare_dns_record');
    assert.deepEqual(records.map((r) => (r.body as any).type).sort(), ['A', 'AAAA']);
    for (const { body } of records as { body: any }[]) {
      assert.equal(body.name, 'hub.dev.ringforge.example');
      assert.equal(body.proxied, true);
      assert.match(body.content, /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-dev-infra\.outputs\./);
    }
  });

  test('state is remote, encrypted and locked, one key per stack', () => {
    for (const [name, doc] of Object.entries(stacks)) {
      const s3 = (doc.terraform as any).backend.s3;
      assert.equal(s3.bucket, env.state.bucket);
      assert.equal(s3.key, `ringforge/dev/${name}.tfstate`);
      assert.equal(s3.encrypt, true);
      assert.equal(s3.use_lockfile, true);
      assert.deepEqual(s3.endpoints, { s3: env.state.endpoint });
    }
  });

  test('providers are pinned to the versions the toolchain validates against', () => {
    assert.equal(CLOUDFLARE_PROVIDER_VERSION, toolVersions.CLOUDFLARE_PROVIDER_VERSION);
    const required = (stacks['dev-infra']!.terraform as any).required_providers;
    assert.deepEqual(required.hcloud, {
      source: 'registry.terraform.io/hetznercloud/hcloud',
      version: toolVersions.HCLOUD_PROVIDER_VERSION,
    });
    assert.deepEqual(required.cloudflare, {
      source: 'cloudflare/cloudflare',
      version: toolVersions.CLOUDFLARE_PROVIDER_VERSION,
    });
  });

  test('provider blocks carry no credentials', () => {
    for (const doc of Object.values(stacks)) {
      const providers = (doc as any).provider as Record<string, Record<string, unknown>[]>;
      for (const [name, configs] of Object.entries(providers)) {
        assert.deepEqual(configs, [{}], `${name} provider must take its token from the environment`);
      }
    }
  });
});
