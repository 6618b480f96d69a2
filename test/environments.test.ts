import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  EnvironmentError,
  environmentNames,
  loadAllEnvironments,
  loadEnvironment,
  primaryRegionOf,
  regionBackupStore,
  regionsByPreference,
  resolveEnvironment,
  type EnvironmentFile,
  type HetznerEnvironment,
} from '../environments/index.ts';
import dev from '../environments/dev.ts';
import prod from '../environments/prod.ts';

/** Resolves a copy of an environment file with one change, and returns the error's problems. */
function problemsOf(file: EnvironmentFile, change: (f: Record<string, any>) => void): string[] {
  const copy = structuredClone(file) as Record<string, any>;
  change(copy);
  try {
    resolveEnvironment('environments/broken.ts', copy);
  } catch (err) {
    assert.ok(err instanceof EnvironmentError, `expected EnvironmentError, got ${err}`);
    assert.match(err.message, /^environment environments\/broken\.ts is invalid:/);
    return [...err.problems];
  }
  assert.fail('the broken environment was accepted');
}

describe('environments', () => {
  test('every environment file resolves and its name matches the file', () => {
    const envs = loadAllEnvironments();
    assert.deepEqual(
      envs.map((e) => e.name),
      ['local', 'dev', 'staging', 'prod'],
    );
    assert.deepEqual(environmentNames, ['local', 'dev', 'staging', 'prod']);
  });

  test('tiers follow the plan: dev 0, staging 2, prod 3 in two regions', () => {
    const tiers = Object.fromEntries(loadAllEnvironments().map((e) => [e.name, e.tier]));
    assert.deepEqual(tiers, { local: 0, dev: 0, staging: 2, prod: 3 });
    const prodEnv = loadEnvironment('prod');
    assert.equal(prodEnv.platform, 'hetzner');
    assert.equal(prodEnv.platform === 'hetzner' && prodEnv.regions.length, 2);
  });

  test('the primary region: primaryRegion, else the first; each region archives off-site to its own bucket', () => {
    const production = loadEnvironment('prod') as HetznerEnvironment;
    assert.equal(primaryRegionOf(production).name, 'fsn1');
    const switched = resolveEnvironment('environments/prod.ts', {
      ...prod,
      primaryRegion: 'hel1',
    }) as HetznerEnvironment;
    assert.deepEqual(
      regionsByPreference(switched).map((r) => r.name),
      ['hel1', 'fsn1'],
    );
    const unnamed: Record<string, unknown> = { ...prod };
    delete unnamed.primaryRegion;
    assert.equal(
      primaryRegionOf(resolveEnvironment('environments/prod.ts', unnamed) as HetznerEnvironment).name,
      'fsn1',
    );
    for (const region of production.regions) {
      const store = regionBackupStore(production, region);
      assert.equal(store.bucket, `ringforge-prod-backups-${region.name}`);
      assert.notEqual(store.location, region.location);
      assert.equal(store.endpoint, `https://${store.location}.your-objectstorage.com`);
      assert.equal(store.retentionDays, 35);
    }
    const stagingEnv = loadEnvironment('staging') as HetznerEnvironment;
    assert.equal(regionBackupStore(stagingEnv, stagingEnv.regions[0]!).location, 'fsn1', 'nbg1 archives to fsn1');
    assert.equal(regionBackupStore(stagingEnv, stagingEnv.regions[0]!).retentionDays, 30);
  });

  test('tier defaults fill what a file leaves out, and the file wins where it speaks', () => {
    const staging = loadEnvironment('staging');
    assert.equal(staging.platform, 'hetzner');
    if (staging.platform !== 'hetzner') return;
    assert.deepEqual(staging.servers, {
      controlPlane: { type: 'cpx22', count: 3 },
      worker: { type: 'cpx42', count: 3 },
    });
    assert.equal(staging.hub.targetConnectionsPerReplica, 8000);
    assert.deepEqual([staging.hub.port, staging.hub.adminPort], [8080, 9090], 'public and operations ports');
    const production = loadEnvironment('prod');
    if (production.platform !== 'hetzner') return assert.fail('prod must be on hetzner');
    assert.deepEqual(production.servers.worker, { type: 'cpx52', count: 4 });
    assert.deepEqual(production.servers.controlPlane, { type: 'cpx22', count: 3 });
    assert.equal(production.slo.concurrentAgents, 50000);
    assert.equal(production.slo.connectP95Ms, 150, 'untouched SLOs come from tier 3');
  });

  test('an unknown environment is named in the error', () => {
    assert.throws(() => loadEnvironment('qa'), /unknown environment "qa" \(known: local, dev, staging, prod\)/);
  });
});

describe('environment validation rejects', () => {
  test('SSH from the whole internet', () => {
    const problems = problemsOf(dev, (f) => (f.adminCidrs = ['10.0.0.0/8', '0.0.0.0/0']));
    assert.deepEqual(problems, [
      'adminCidrs.1: must not be the whole internet: SSH is admitted only from admin networks (got "0.0.0.0/0")',
    ]);
  });

  test('a malformed CIDR', () => {
    const problems = problemsOf(dev, (f) => (f.adminCidrs = ['203.0.113.0/33']));
    assert.deepEqual(problems, ['adminCidrs.0: must be an IPv4 or IPv6 CIDR (got "203.0.113.0/33")']);
  });

  test('a missing field, by its path', () => {
    const problems = problemsOf(dev, (f) => delete f.dns.zone);
    assert.deepEqual(problems, ['dns.zone: is required (string)']);
  });

  test('an unknown field, so typos do not pass silently', () => {
    const problems = problemsOf(dev, (f) => (f.hub.replica = { min: 2 }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^hub: Unrecognized key: "replica"/);
  });

  test('an image without a digest', () => {
    const problems = problemsOf(dev, (f) => (f.hub.image.digest = 'latest'));
    assert.deepEqual(problems, ['hub.image.digest: must be a sha256 digest (sha256:<64 hex>) (got "latest")']);
  });

  test('a hostname outside the zone', () => {
    const problems = problemsOf(dev, (f) => (f.dns.hubHostname = 'hub.other.example'));
    assert.deepEqual(problems, ['dns.hubHostname: must be inside the zone ringforge.example (got hub.other.example)']);
  });

  test('tier 3 with a single region', () => {
    const problems = problemsOf(prod, (f) => (f.regions = [f.regions[0]]));
    assert.deepEqual(problems, ['regions: tier 3 needs at least 2 regions (got 1)']);
  });

  test('a server role that the tier does not have', () => {
    const problems = problemsOf(
      dev,
      (f) => (f.servers = { single: { type: 'cx33', count: 1 }, worker: { type: 'cx33', count: 2 } }),
    );
    assert.deepEqual(problems, ['servers.worker: is not a role of tier 0 (roles: single)']);
  });

  test('a NATS server group, which the kit no longer runs: the hub never used NATS', () => {
    const problems = problemsOf(dev, (f) => {
      f.tier = 1;
      f.servers = { nats: { type: 'cx23', count: 3, volumeGb: 20 } };
    });
    assert.deepEqual(problems, ['servers: Unrecognized key: "nats"']);
  });

  test('tier 3 steering no Cloudflare geo region to its primary', () => {
    const problems = problemsOf(prod, (f) => {
      f.primaryRegion = 'hel1';
      for (const r of f.regions) r.servesGeoRegions = [];
    });
    assert.deepEqual(problems, [
      'regions.1.servesGeoRegions: must name at least one Cloudflare geo region for tier 3 steering',
    ]);
  });

  test('a primaryRegion that is not one of the regions', () => {
    const problems = problemsOf(prod, (f) => (f.primaryRegion = 'nbg1'));
    assert.deepEqual(problems, ['primaryRegion: must name one of the regions (fsn1, hel1) (got nbg1)']);
  });

  test('a region archiving to its own location, and a location without Object Storage', () => {
    assert.deepEqual(
      problemsOf(prod, (f) => (f.regions[0].backupLocation = 'fsn1')),
      [
        "regions.0.backupLocation: must differ from the region's location fsn1: a backup in the same place is lost with it",
      ],
    );
    assert.deepEqual(
      problemsOf(prod, (f) => (f.regions[1].backupLocation = 'ash')),
      ['regions.1.backupLocation: must be a Hetzner Object Storage location (fsn1, nbg1, hel1) (got "ash")'],
    );
  });

  test('an even number of k3s control-plane servers', () => {
    const problems = problemsOf(prod, (f) => (f.servers.controlPlane = { type: 'cpx22', count: 2 }));
    assert.deepEqual(problems, ['servers.controlPlane.count: must be odd so embedded etcd keeps quorum (got 2)']);
  });

  test('a single hub replica from tier 1 on', () => {
    const problems = problemsOf(prod, (f) => (f.hub.replicas = { min: 1, max: 4 }));
    assert.deepEqual(problems, ['hub.replicas.min: must be >= 2 for tier 3 (got 1)']);
  });

  test('an operations port equal to the public port', () => {
    const problems = problemsOf(dev, (f) => Object.assign(f.hub, { port: 9000, adminPort: 9000 }));
    assert.deepEqual(problems, [
      'hub.adminPort: must differ from port: /metrics and the admin API stay off the public listener',
    ]);
  });

  test('limits below requests', () => {
    const problems = problemsOf(dev, (f) => (f.hub.limits = { memoryMiB: 256 }));
    assert.deepEqual(problems, ['hub.limits.memoryMiB: must be >= requests.memoryMiB']);
  });

  test('a WAL archive timeout longer than the RPO objective', () => {
    const problems = problemsOf(dev, (f) => {
      f.backup.archiveTimeoutSeconds = 600;
      f.drill = { rpoSeconds: 120 };
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^backup\.archiveTimeoutSeconds: must be <= drill\.rpoSeconds \(120\)/);
  });

  test('an unknown tier, and reports every problem at once', () => {
    const problems = problemsOf(dev, (f) => {
      f.tier = 7;
      f.name = 'Dev Env';
    });
    assert.ok(
      problems.includes('name: must be a lowercase slug of 2-32 letters, digits and dashes (got "Dev Env")'),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('tier: must be one of 0, 1, 2, 3')),
      problems.join('\n'),
    );
  });
});
