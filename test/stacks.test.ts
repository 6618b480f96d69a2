import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, toolVersions } from '../scripts/lib/tools.ts';
import { resolveEnvironment, type HetznerEnvironment } from '../environments/index.ts';
import prodFile from '../environments/prod.ts';
import { CLOUDFLARE_PROVIDER_VERSION } from '../stacks/providers.ts';
import { renderNginxConf } from '../constructs/hetzner/roles/single-node.ts';
import {
  bodies,
  cloudConfigOf,
  hetznerEnvironment,
  serversOf,
  synthEnvironment,
  tier1Environment,
  writtenFile,
} from './helpers/synth.ts';

const CLOUDFLARE_SOURCES =
  '${concat(data.cloudflare_ip_ranges.CloudflareRanges.ipv4_cidrs, data.cloudflare_ip_ranges.CloudflareRanges.ipv6_cidrs)}';

const rulesByPort = (firewall: Record<string, any>) =>
  Object.fromEntries(firewall.rule.filter((r: any) => r.port).map((r: any) => [r.port, r.source_ips]));

const firewallFor = (doc: any, role: string) => {
  const found = bodies(doc, 'hcloud_firewall').filter((f) =>
    f.apply_to[0].label_selector.endsWith(`ringforge/role=${role}`),
  );
  assert.equal(found.length, 1, `one firewall for ${role}`);
  return found[0]!;
};

describe('tier 0 (dev)', () => {
  const env = hetznerEnvironment('dev');
  const stacks = synthEnvironment(env);
  const infra = stacks['dev-infra']!;

  test('has an infra and an edge stack', () => {
    assert.deepEqual(Object.keys(stacks).sort(), ['dev-edge', 'dev-infra']);
  });

  test('one protected server with a volume, primary IPs and reverse DNS', () => {
    const [server, ...rest] = serversOf(infra, 'single');
    assert.equal(rest.length, 0);
    assert.equal(server!.server_type, 'cx33');
    assert.equal(server!.delete_protection, true);
    assert.equal(server!.image, 'docker-ce');
    assert.equal(bodies(infra, 'hcloud_volume')[0]!.size, 50);
    assert.equal(bodies(infra, 'hcloud_primary_ip').length, 2);
    assert.deepEqual(
      bodies(infra, 'hcloud_rdns').map((r) => r.dns_ptr),
      ['hub.dev.ringforge.example', 'hub.dev.ringforge.example'],
    );
  });

  test('SSH only from admin networks, web ports only from Cloudflare', () => {
    const ports = rulesByPort(firewallFor(infra, 'single'));
    assert.deepEqual(Object.keys(ports).sort(), ['22', '443', '80']);
    assert.deepEqual(ports['22'], env.adminCidrs);
    assert.equal(ports['80'], CLOUDFLARE_SOURCES);
    assert.equal(ports['443'], CLOUDFLARE_SOURCES);
  });

  test('cloud-init runs the compose stack with the hub pinned by digest and ships WAL', () => {
    const config = cloudConfigOf(serversOf(infra, 'single')[0]!);
    const compose = parse(writtenFile(config, '/etc/ringforge/compose.yaml'));
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'alertmanager',
      'hub',
      'node-exporter',
      'postgres',
      'postgres-exporter',
      'prometheus',
      'proxy',
      'valkey',
      'valkey-exporter',
    ]);
    assert.equal(compose.services.hub.image, `${env.hub.image.repository}@${env.hub.image.digest}`);
    assert.equal(compose.services.hub.read_only, true);
    assert.deepEqual(compose.services.proxy.ports, ['80:8080', '443:8443']);
    assert.deepEqual(compose.services.postgres.ports, ['127.0.0.1:5432:5432']);
    assert.ok(compose.services.postgres.command.includes(`archive_timeout=${env.backup.archiveTimeoutSeconds}`));
    const ship = writtenFile(config, '/usr/local/bin/ringforge-wal-ship');
    assert.match(
      ship,
      /barman-cloud-wal-archive --endpoint-url https:\/\/fsn1\.your-objectstorage\.com s3:\/\/ringforge-dev-backups dev/,
    );
    assert.match(writtenFile(config, '/etc/systemd/system/ringforge-base-backup.timer'), /OnCalendar=\*-\*-\* 3:0:00/);
    assert.match(writtenFile(config, '/etc/systemd/system/ringforge-wal-ship.timer'), /\nOnUnitActiveSec=10s\n/);
    assert.match(writtenFile(config, '/etc/ringforge/nginx.conf'), /server_name hub\.dev\.ringforge\.example;/);
  });

  test('only the proxy publishes to the internet; the hub, Prometheus and Alertmanager publish on loopback only', () => {
    const config = cloudConfigOf(serversOf(infra, 'single')[0]!);
    const compose = parse(writtenFile(config, '/etc/ringforge/compose.yaml'));
    const published = Object.entries<any>(compose.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p: string) => `${name} ${p}`),
    );
    assert.deepEqual(published, [
      'postgres 127.0.0.1:5432:5432',
      `hub 127.0.0.1:${env.hub.adminPort}:${env.hub.adminPort}`,
      'proxy 80:8080',
      'proxy 443:8443',
      'prometheus 127.0.0.1:9091:9090',
      'alertmanager 127.0.0.1:9093:9093',
    ]);
    const hub = compose.services.hub.environment;
    assert.equal(hub.HUB_PORT, String(env.hub.port));
    assert.equal(hub.HUB_ADMIN_PORT, String(env.hub.adminPort));
    assert.equal(hub.HUB_ADMIN_HOST, '0.0.0.0', 'reachable through the published loopback port');
    assert.match(compose.services.hub.healthcheck.test.join(' '), new RegExp(`:${env.hub.port}/api/ready`));
  });

  test('the hub believes X-Forwarded-For from the compose network nginx reaches it on, and only that', () => {
    const compose = parse(writtenFile(cloudConfigOf(serversOf(infra, 'single')[0]!), '/etc/ringforge/compose.yaml'));
    const [subnet] = compose.networks.default.ipam.config.map((c: any) => c.subnet);
    assert.equal(subnet, '172.30.0.0/24');
    assert.equal(compose.services.hub.environment.HUB_TRUSTED_PROXIES, subnet);
    for (const service of Object.values<any>(compose.services)) assert.equal(service.networks, undefined);
  });

  test('nginx admits only the origin-pull certificate and proxies /ws, /api/health and /api/ready exactly', () => {
    const conf = writtenFile(cloudConfigOf(serversOf(infra, 'single')[0]!), '/etc/ringforge/nginx.conf');
    const tls = conf.slice(conf.indexOf('listen 8443'));
    const locations = [...tls.matchAll(/location ([^{]+) \{([^}]*)\}/g)].map((m) => [m[1]!, m[2]!] as const);
    assert.deepEqual(
      locations.map(([match]) => match),
      ['= /ws', '= /api/health', '= /api/ready', '/'],
    );
    for (const [match, body] of locations.slice(0, 3)) {
      assert.match(body, /proxy_pass http:\/\/hub;/, match);
      assert.match(body, /proxy_set_header X-Forwarded-For \$client_address;/, match);
    }
    // Only Cloudflare's origin-pull certificate gets past the handshake's 400 (Authenticated Origin Pulls).
    assert.match(tls, /ssl_client_certificate \/etc\/nginx\/tls\/origin-pull-ca\.pem;\n\s+ssl_verify_client on;/);
    assert.match(
      conf,
      /map \$ssl_client_verify \$client_address \{ SUCCESS \$http_cf_connecting_ip; default \$remote_addr; \}/,
    );
    assert.match(locations[0]![1], /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(locations[0]![1], /proxy_set_header Connection \$connection_upgrade;/);
    assert.match(locations[0]![1], /proxy_read_timeout 3600s;/);
    assert.equal(locations[3]![1].trim(), 'return 404;');
    assert.equal(conf.match(/proxy_pass/g)!.length, 3, 'no other location reaches the hub');
    assert.doesNotMatch(conf.replace(/#.*$/gm, ''), /metrics|\/api\/admin|:9090/);
    assert.match(conf, new RegExp(`upstream hub \\{ server hub:${env.hub.port};`));
  });

  test('the committed dist/compose files are what cloud-init installs', () => {
    const config = cloudConfigOf(serversOf(infra, 'single')[0]!);
    const monitoring = ['prometheus.yml', 'rules.yaml', 'alertmanager.yml', 'postgres-exporter-queries.yaml'];
    for (const file of ['compose.yaml', 'nginx.conf', ...monitoring.map((f) => `monitoring/${f}`)]) {
      assert.equal(
        readFileSync(join(repoRoot, 'dist/compose/dev', file), 'utf8'),
        writtenFile(config, `/etc/ringforge/${file}`),
        file,
      );
    }
  });

  test('the edge proxies the hub hostname to the server and secures the zone', () => {
    const edge = stacks['dev-edge']!;
    const records = bodies(edge, 'cloudflare_dns_record');
    assert.deepEqual(records.map((r) => r.type).sort(), ['A', 'AAAA']);
    for (const r of records) {
      assert.equal(r.name, 'hub.dev.ringforge.example');
      assert.equal(r.proxied, true);
      assert.match(r.content, /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-dev-infra\.outputs\./);
    }
    const settings = Object.fromEntries(bodies(edge, 'cloudflare_zone_setting').map((s) => [s.setting_id, s.value]));
    assert.equal(settings.ssl, 'strict');
    assert.equal(settings.min_tls_version, '1.2');
    assert.equal(settings.tls_1_3, 'on');
    assert.equal(settings.always_use_https, 'on');
    assert.equal(settings.websockets, 'on');
    assert.equal(settings.security_header.strict_transport_security.enabled, true);
  });

  test('rulesets: managed WAF, admin API and non-hub paths blocked, rate limits on /ws and /api, no cache', () => {
    const byPhase = Object.fromEntries(bodies(stacks['dev-edge']!, 'cloudflare_ruleset').map((r) => [r.phase, r]));
    assert.deepEqual(Object.keys(byPhase).sort(), [
      'http_ratelimit',
      'http_request_cache_settings',
      'http_request_firewall_custom',
      'http_request_firewall_managed',
    ]);
    assert.ok(byPhase.http_request_firewall_managed.rules.every((r: any) => r.action === 'execute'));
    assert.deepEqual(
      byPhase.http_request_firewall_custom.rules.map((r: any) => [r.action, r.expression]),
      [
        ['block', '(starts_with(http.request.uri.path, "/api/admin"))'],
        ['block', '(not http.request.uri.path in {"/ws" "/api/health" "/api/ready"})'],
      ],
    );
    const limits = byPhase.http_ratelimit.rules.map((r: any) => [
      r.expression,
      r.ratelimit.requests_per_period,
      r.ratelimit.period,
    ]);
    assert.deepEqual(limits, [
      ['(http.request.uri.path eq "/ws")', 400, 60],
      ['(starts_with(http.request.uri.path, "/api/"))', 100, 60],
    ]);
    const cache = byPhase.http_request_cache_settings.rules;
    assert.deepEqual(
      cache.map((r: any) => r.action_parameters.cache),
      [false],
    );
    assert.match(cache[0].expression, /"\/ws"/);
  });

  test('Authenticated Origin Pulls are on for the zone', () => {
    const pulls = bodies(stacks['dev-edge']!, 'cloudflare_authenticated_origin_pulls_settings');
    assert.equal(pulls.length, 1);
    assert.equal(pulls[0]!.enabled, true);
    assert.match(pulls[0]!.zone_id, /data\.cloudflare_zone\./);
  });

  test('rate limits follow the environment when it overrides them', () => {
    const stricter = { ...env, edge: { websocketUpgradesPerMinute: 250, apiRequestsPerMinute: 50 } };
    const rules = bodies(synthEnvironment(stricter)['dev-edge']!, 'cloudflare_ruleset').find(
      (r) => r.phase === 'http_ratelimit',
    )!;
    assert.deepEqual(
      rules.rules.map((r: any) => r.ratelimit.requests_per_period),
      [250, 50],
    );
  });

  test('state is remote, encrypted and locked, one key per stack', () => {
    for (const [name, doc] of Object.entries(stacks)) {
      const s3 = (doc.terraform as any).backend.s3;
      assert.equal(s3.bucket, env.state.bucket);
      assert.equal(s3.key, `ringforge/dev/${name}.tfstate`);
      assert.equal(s3.encrypt, true);
      assert.equal(s3.use_lockfile, true);
    }
  });

  test('providers are pinned to the versions the toolchain validates against, with no credentials', () => {
    assert.equal(CLOUDFLARE_PROVIDER_VERSION, toolVersions.CLOUDFLARE_PROVIDER_VERSION);
    const required = (infra.terraform as any).required_providers;
    assert.equal(required.hcloud.version, toolVersions.HCLOUD_PROVIDER_VERSION);
    assert.equal(required.cloudflare.version, toolVersions.CLOUDFLARE_PROVIDER_VERSION);
    for (const doc of Object.values(stacks)) {
      for (const configs of Object.values((doc as any).provider)) assert.deepEqual(configs, [{}]);
    }
  });

  test('every resource carries the environment, tier, role and managed-by labels', () => {
    for (const type of [
      'hcloud_server',
      'hcloud_firewall',
      'hcloud_network',
      'hcloud_volume',
      'hcloud_primary_ip',
      'hcloud_ssh_key',
    ]) {
      for (const body of bodies(infra, type)) {
        assert.equal(body.labels['ringforge/environment'], 'dev', type);
        assert.equal(body.labels['ringforge/tier'], '0', type);
        assert.equal(body.labels['ringforge/managed-by'], 'cdktf', type);
        assert.ok(body.labels['ringforge/role'], type);
      }
    }
  });
});

describe('tier 1 (high availability)', () => {
  const env = tier1Environment();
  const infra = synthEnvironment(env)['ha-infra']!;

  test('server counts per role, spread by placement groups', () => {
    const counts = Object.fromEntries(['hub', 'postgres', 'valkey'].map((r) => [r, serversOf(infra, r).length]));
    assert.deepEqual(counts, { hub: 3, postgres: 2, valkey: 2 });
    assert.equal(bodies(infra, 'hcloud_server').length, 7, 'no server outside these roles');
    assert.equal(bodies(infra, 'hcloud_placement_group').length, 3);
    assert.ok(bodies(infra, 'hcloud_placement_group').every((g) => g.type === 'spread'));
  });

  test('stateful roles get volumes and protection; hubs are stateless', () => {
    assert.equal(bodies(infra, 'hcloud_volume').length, 4);
    for (const role of ['postgres', 'valkey'])
      assert.ok(
        serversOf(infra, role).every((s) => s.delete_protection === true),
        role,
      );
    assert.ok(serversOf(infra, 'hub').every((s) => s.delete_protection === false));
  });

  test('the load balancer passes TCP 443 through to nginx on the hubs and checks each hub is ready', () => {
    const services = bodies(infra, 'hcloud_load_balancer_service');
    assert.deepEqual(
      services.map((s) => [s.protocol, s.listen_port, s.destination_port, s.http]),
      [['tcp', 443, 8443, undefined]],
      'no TLS on the load balancer: it could not ask for a client certificate',
    );
    assert.deepEqual(
      { ...services[0]!.health_check, http: undefined },
      { protocol: 'http', port: env.hub.port, interval: 10, timeout: 5, retries: 3, http: undefined },
    );
    assert.equal(services[0]!.health_check.http.path, '/api/ready');
    const [target] = bodies(infra, 'hcloud_load_balancer_target');
    assert.equal(target!.label_selector, 'ringforge/environment=ha,ringforge/role=hub');
    assert.equal(target!.use_private_ip, true);
    assert.equal(bodies(infra, 'hcloud_load_balancer_network')[0]!.ip, '10.0.1.2');
    // The origin key stays on the hub servers (secrets runbook), out of Terraform's state.
    assert.deepEqual(bodies(infra, 'hcloud_uploaded_certificate'), []);
    assert.equal((infra as any).variable?.origin_private_key, undefined);
  });

  test("each hub server runs tier 0's nginx in front of the hub: Cloudflare's origin-pull certificate, public routes only", () => {
    const hubs = serversOf(infra, 'hub');
    assert.equal(hubs.length, 3);
    hubs.forEach((server, i) => {
      const config = cloudConfigOf(server);
      const ip = `10.0.1.${41 + i}`;
      const conf = writtenFile(config, '/etc/ringforge/nginx.conf');
      assert.equal(
        conf,
        renderNginxConf({ hostname: env.dns.hubHostname, hubPort: env.hub.port, websocketPath: env.hub.websocketPath }),
      );
      assert.match(conf, /ssl_verify_client on;/);
      const proxy = writtenFile(config, '/etc/systemd/system/ringforge-proxy.service');
      const run = /ExecStart=(.*)/.exec(proxy)![1]!;
      assert.deepEqual(
        [...run.matchAll(/--publish (\S+)/g)].map((m) => m[1]),
        [`${ip}:8443:8443`],
      );
      assert.match(run, /--network ringforge /);
      assert.match(run, /--volume \/etc\/ringforge\/secrets\/tls:\/etc\/nginx\/tls:ro /);
      assert.match(proxy, /^ConditionPathExists=\/etc\/ringforge\/secrets\/tls\/origin-pull-ca\.pem$/m);
      assert.ok(String(config.runcmd).includes('ringforge-proxy'), 'the proxy unit is enabled');
    });
  });

  test('hubs publish both listeners on their private address only and believe X-Forwarded-For from nginx only', () => {
    const hubs = serversOf(infra, 'hub');
    hubs.forEach((server, i) => {
      const unit = writtenFile(cloudConfigOf(server), '/etc/systemd/system/ringforge-hub.service');
      const run = /ExecStart=(.*)/.exec(unit)![1]!;
      const ip = `10.0.1.${41 + i}`;
      assert.deepEqual(
        [...run.matchAll(/--publish (\S+)/g)].map((m) => m[1]),
        [`${ip}:${env.hub.port}:${env.hub.port}`, `${ip}:${env.hub.adminPort}:${env.hub.adminPort}`],
      );
      assert.match(run, /--name hub --network ringforge /);
      assert.match(unit, /^ExecStartPre=.*docker network create --subnet 172\.30\.0\.0\/24 ringforge'$/m);
      for (const setting of [
        'HUB_HOST=0.0.0.0',
        `HUB_PORT=${env.hub.port}`,
        'HUB_ADMIN_HOST=0.0.0.0',
        `HUB_ADMIN_PORT=${env.hub.adminPort}`,
        // nginx's container network: the load balancer only health-checks the hub directly.
        'HUB_TRUSTED_PROXIES=172.30.0.0/24',
      ]) {
        assert.ok(run.includes(` --env ${setting} `), `${setting} in ${run}`);
      }
    });
  });

  test('no web port is open on any server: traffic arrives through the load balancer', () => {
    for (const role of ['hub', 'postgres', 'valkey']) {
      assert.deepEqual(Object.keys(rulesByPort(firewallFor(infra, role))), ['22'], role);
    }
  });

  test('Postgres archives WAL and the replica clones the primary', () => {
    const [primary, replica] = serversOf(infra, 'postgres').map(cloudConfigOf);
    assert.match(writtenFile(primary!, '/etc/ringforge/postgresql.conf'), /archive_mode = on/);
    assert.match(
      writtenFile(primary!, '/etc/ringforge/postgresql.conf'),
      /listen_addresses = 'localhost,10\.0\.1\.11'/,
    );
    assert.match(
      writtenFile(replica!, '/usr/local/bin/ringforge-pg-clone'),
      /pg_basebackup -h 10\.0\.1\.11 -U replicator/,
    );
  });

  test('Valkey fails over with three sentinels, quorum 2, and the hubs ask them for the primary', () => {
    const valkeyReplica = cloudConfigOf(serversOf(infra, 'valkey')[1]!);
    const runcmd = JSON.stringify(valkeyReplica.runcmd);
    assert.match(runcmd, /'replicaof 10\.0\.1\.21 6379'.*>> \/etc\/redis\/redis\.conf/);
    // One sentinel on each Valkey server and one on the Postgres primary: any one server may go.
    const withSentinel = (role: string) =>
      serversOf(infra, role).filter((server) => {
        const config = cloudConfigOf(server);
        return (config.write_files ?? []).some((f: any) => f.path === '/usr/local/sbin/ringforge-sentinel-config');
      }).length;
    assert.deepEqual([withSentinel('valkey'), withSentinel('postgres'), withSentinel('hub')], [2, 1, 0]);
    const script = writtenFile(valkeyReplica, '/usr/local/sbin/ringforge-sentinel-config');
    assert.match(script, /sentinel monitor ringforge 10\.0\.1\.21 6379 2"/);
    assert.match(script, /bind 127\.0\.0\.1 10\.0\.1\.22"/);
    const unit = writtenFile(cloudConfigOf(serversOf(infra, 'hub')[0]!), '/etc/systemd/system/ringforge-hub.service');
    assert.ok(unit.includes(' --env REDIS_SENTINELS=10.0.1.21:26379,10.0.1.22:26379,10.0.1.11:26379 '), unit);
  });
});

describe('tier 2 (staging)', () => {
  const env = hetznerEnvironment('staging');
  const infra = synthEnvironment(env)['staging-infra']!;

  test('three control-plane servers and a worker pool on the private network', () => {
    assert.equal(serversOf(infra, 'controlPlane').length, 3);
    assert.equal(serversOf(infra, 'worker').length, 3);
    for (const s of [...serversOf(infra, 'controlPlane'), ...serversOf(infra, 'worker')]) {
      assert.equal(s.network.length, 1);
      assert.match(s.network[0].ip, /^10\.0\.1\.\d+$/);
    }
  });

  test('the Kubernetes API and SSH only from admin networks, no web ports on nodes', () => {
    for (const role of ['controlPlane', 'worker']) {
      const ports = rulesByPort(firewallFor(infra, role));
      assert.deepEqual(Object.keys(ports).sort(), ['22', '6443'], role);
      assert.deepEqual(ports['6443'], env.adminCidrs);
    }
  });

  test('exactly one control plane initialises etcd; the others and the workers join it', () => {
    const commands = serversOf(infra, 'controlPlane').map((s) => JSON.stringify(cloudConfigOf(s).runcmd));
    assert.equal(commands.filter((c) => c.includes('--cluster-init')).length, 1);
    assert.equal(commands.filter((c) => c.includes('--server=https://10.0.1.11:6443')).length, 2);
    for (const w of serversOf(infra, 'worker'))
      assert.match(JSON.stringify(cloudConfigOf(w).runcmd), /agent.*--server=https:\/\/10\.0\.1\.11:6443/);
  });

  test('the join token is a sensitive variable, never a literal', () => {
    assert.equal((infra as any).variable.k3s_token.sensitive, true);
    for (const s of serversOf(infra, 'controlPlane')) {
      assert.equal(writtenFile(cloudConfigOf(s), '/etc/rancher/k3s/token'), '${var.k3s_token}\n');
    }
  });

  test('the first control plane bootstraps CCM, CSI, ArgoCD and the root Application at dist/k8s/staging', () => {
    const config = cloudConfigOf(serversOf(infra, 'controlPlane')[0]!);
    const docs = writtenFile(config, '/var/lib/rancher/k3s/server/manifests/ringforge-bootstrap.yaml')
      .split('---\n')
      .map((d) => parse(d));
    assert.deepEqual(
      docs.map((d) => `${d.kind}/${d.metadata.name}`),
      ['HelmChart/hcloud-ccm', 'HelmChart/hcloud-csi', 'HelmChart/argo-cd', 'Application/root'],
    );
    const argo = parse(docs[2].spec.valuesContent);
    assert.match(
      argo.configs.cm['resource.customizations.health.argoproj.io_Application'],
      /obj\.status\.health\.status/,
    );
    const root = docs[3];
    assert.equal(root.spec.source.path, 'dist/k8s/staging');
    assert.equal(root.spec.source.repoURL, env.gitops.repoUrl);
    assert.deepEqual(root.spec.syncPolicy.automated, { prune: true, selfHeal: true });
  });

  test('a load balancer on the network for the cluster to adopt, with no services of its own', () => {
    assert.equal(bodies(infra, 'hcloud_load_balancer').length, 1);
    assert.equal(bodies(infra, 'hcloud_load_balancer_network').length, 1);
    assert.equal(bodies(infra, 'hcloud_load_balancer_service').length, 0);
  });
});

describe('tier 3 (prod, two regions)', () => {
  const env = hetznerEnvironment('prod');
  const stacks = synthEnvironment(env);

  test('an infra stack per region and one edge stack', () => {
    assert.deepEqual(Object.keys(stacks).sort(), ['prod-edge', 'prod-infra-fsn1', 'prod-infra-hel1']);
    assert.equal(serversOf(stacks['prod-infra-hel1']!, 'controlPlane')[0]!.location, 'hel1');
    assert.equal(serversOf(stacks['prod-infra-fsn1']!, 'worker').length, 4);
  });

  test('each region syncs its own manifests', () => {
    for (const region of ['fsn1', 'hel1']) {
      const config = cloudConfigOf(serversOf(stacks[`prod-infra-${region}`]!, 'controlPlane')[0]!);
      const manifests = writtenFile(config, '/var/lib/rancher/k3s/server/manifests/ringforge-bootstrap.yaml');
      assert.match(manifests, new RegExp(`path: dist/k8s/prod/${region}\\n`));
    }
  });

  test('a Cloudflare load balancer with a pool per region, readiness monitors and geo steering with failover', () => {
    const edge = stacks['prod-edge']!;
    const [monitor] = bodies(edge, 'cloudflare_load_balancer_monitor');
    assert.equal(monitor!.type, 'https');
    assert.equal(monitor!.path, '/api/ready');
    const pools = bodies(edge, 'cloudflare_load_balancer_pool');
    assert.deepEqual(pools.map((p) => p.name).sort(), ['prod-fsn1', 'prod-hel1']);
    for (const pool of pools)
      assert.match(pool.origins[0].address, /cross-stack-reference-input-prod-infra-(fsn1|hel1)/);
    const [lb] = bodies(edge, 'cloudflare_load_balancer');
    assert.equal(lb!.steering_policy, 'geo');
    assert.equal(lb!.proxied, true);
    assert.equal(lb!.default_pools.length, 2);
    assert.equal(lb!.region_pools.WEU.length, 2, 'a region falls over to the other pool');
    assert.match(lb!.region_pools.WEU[0], /Pool-fsn1/, 'visitors go to the primary region first');
    assert.match(lb!.region_pools.EEU[0], /Pool-fsn1/);
    assert.match(lb!.fallback_pool, /Pool-hel1/, 'the standby region takes over when the primary is unhealthy');
    assert.equal(bodies(edge, 'cloudflare_dns_record').length, 0, 'the load balancer owns the hostname');
  });

  test('a switchover (primaryRegion hel1) steers every geo region to hel1 first, fsn1 as the fallback', () => {
    const switched = resolveEnvironment('environments/prod.ts', { ...prodFile, primaryRegion: 'hel1' });
    const [lb] = bodies(synthEnvironment(switched as HetznerEnvironment)['prod-edge']!, 'cloudflare_load_balancer');
    for (const geo of ['WEU', 'EEU', 'NAF', 'ME', 'WNAM', 'ENAM']) {
      assert.match(lb!.region_pools[geo][0], /Pool-hel1/, geo);
      assert.match(lb!.region_pools[geo][1], /Pool-fsn1/, geo);
    }
    assert.match(lb!.default_pools[0], /Pool-hel1/);
    assert.match(lb!.fallback_pool, /Pool-fsn1/);
  });
});
