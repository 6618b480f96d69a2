import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  APP_OF_APPS,
  checkRenderedPolicy,
  filesOf,
  renderK8s,
  type Manifest,
  type RenderedApp,
} from '../charts/render.ts';
import { SINGLE_NODE_IMAGES } from '../constructs/hetzner/roles/single-node.ts';
import { cnpgSchedule } from '../constructs/k8s/postgres.ts';
import { CNPG_IMAGE, POSTGRES_MAJOR } from '../constructs/postgres-version.ts';
import prodFile from '../environments/prod.ts';
import {
  loadEnvironment,
  loadHetznerEnvironments,
  resolveEnvironment,
  type HetznerEnvironment,
} from '../environments/index.ts';
import { isReplicaCluster } from '../scripts/k8s/test-overlay.ts';
import { K8sSchemaValidator } from '../scripts/lib/k8s-schemas.ts';
import { repoRoot, toolVersions } from '../scripts/lib/tools.ts';
import { CLUSTER_CIDR, gitopsPath } from '../stacks/infra/k3s.ts';

const rendered = renderK8s(loadHetznerEnvironments());
const staging = loadEnvironment('staging') as HetznerEnvironment;
const prod = loadEnvironment('prod') as HetznerEnvironment;

const app = (dir: string): RenderedApp => {
  const found = rendered.find((r) => r.dir === dir);
  assert.ok(found, `no rendered app at ${dir}`);
  return found;
};
const one = (dir: string, kind: string, name?: string): any => {
  const found = app(dir).objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  assert.equal(found.length, 1, `one ${kind} ${name ?? ''} in ${dir}`);
  return found[0];
};
const applications = (cluster: string): any[] => app(cluster).objects as any[];
const wave = (a: any) => Number(a.metadata.annotations['argocd.argoproj.io/sync-wave']);

describe('which clusters get manifests', () => {
  test('staging (tier 2) and each prod region (tier 3) at the bootstrap root paths; dev (tier 0) none', () => {
    const clusters = [...new Set(rendered.map((r) => r.cluster))];
    assert.deepEqual(clusters, [
      gitopsPath('staging', 'nbg1', 1),
      gitopsPath('prod', 'fsn1', 2),
      gitopsPath('prod', 'hel1', 2),
    ]);
    assert.deepEqual(clusters, ['dist/k8s/staging', 'dist/k8s/prod/fsn1', 'dist/k8s/prod/hel1']);
  });

  test("a cluster's top folder holds only the app-of-apps: child Applications in argocd", () => {
    for (const r of rendered.filter((x) => x.app === APP_OF_APPS)) {
      assert.deepEqual(Object.keys(filesOf(r)), [`${r.cluster}/${APP_OF_APPS}.yaml`]);
      for (const o of r.objects) {
        assert.equal(o.kind, 'Application');
        assert.equal(o.metadata.namespace, 'argocd');
      }
    }
  });
});

describe('hub workload (staging)', () => {
  const dir = 'dist/k8s/staging/hub';
  const deployment = one(dir, 'Deployment', 'hub');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  test('image by digest; the Deployment leaves replicas to the autoscaler', () => {
    assert.equal(container.image, `${staging.hub.image.repository}@${staging.hub.image.digest}`);
    assert.equal(deployment.spec.replicas, undefined);
    const scaled = one(dir, 'ScaledObject', 'hub');
    assert.equal(scaled.spec.minReplicaCount, staging.hub.replicas.min);
    assert.equal(scaled.spec.maxReplicaCount, staging.hub.replicas.max);
    assert.deepEqual(scaled.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hub' });
    assert.equal(app(dir).objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0, 'KEDA owns the HPA');
  });

  test('KEDA scales on CPU, memory and hub_connected_agents per pod, with the plan behaviour', () => {
    const scaled = one(dir, 'ScaledObject', 'hub');
    const connections = scaled.spec.triggers.find((t: any) => t.type === 'prometheus');
    assert.equal(connections.metricType, 'AverageValue');
    assert.equal(connections.metadata.query, 'sum(hub_connected_agents{namespace="ringforge", job="hub"})');
    assert.equal(connections.metadata.threshold, String(staging.hub.targetConnectionsPerReplica));
    assert.equal(connections.metadata.serverAddress, 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090');
    assert.deepEqual(
      scaled.spec.triggers.filter((t: any) => t.type !== 'prometheus').map((t: any) => [t.type, t.metadata.value]),
      [
        ['cpu', '70'],
        ['memory', '80'],
      ],
    );
    const behavior = scaled.spec.advanced.horizontalPodAutoscalerConfig.behavior;
    assert.equal(behavior.scaleUp.stabilizationWindowSeconds, 180);
    assert.deepEqual(behavior.scaleUp.policies, [{ type: 'Pods', value: 2, periodSeconds: 300 }]);
    assert.equal(behavior.scaleDown.stabilizationWindowSeconds, 600);
    assert.deepEqual(behavior.scaleDown.policies, [{ type: 'Pods', value: 1, periodSeconds: 300 }]);
  });

  test('probes on /api/health and /api/ready at the public port', () => {
    assert.equal(container.livenessProbe.httpGet.path, '/api/health');
    assert.equal(container.readinessProbe.httpGet.path, '/api/ready');
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      assert.equal(probe.httpGet.port, staging.hub.port);
    }
  });

  test('two named ports: the public listener and the operations listener, both on the Service', () => {
    const named = (ports: any[], key: string) => Object.fromEntries(ports.map((p) => [p.name, p[key]]));
    assert.deepEqual(named(container.ports, 'containerPort'), {
      http: staging.hub.port,
      admin: staging.hub.adminPort,
    });
    const service = one(dir, 'Service', 'hub');
    assert.deepEqual(named(service.spec.ports, 'targetPort'), { http: 8080, admin: 9090 });
    assert.equal(service.spec.type, 'ClusterIP');
  });

  test('restricted security context, dedicated service account without a token', () => {
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: 10001,
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.equal(pod.serviceAccountName, 'hub');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(one(dir, 'ServiceAccount', 'hub').automountServiceAccountToken, false);
    assert.deepEqual(
      container.volumeMounts.find((m: any) => m.mountPath === '/tmp'),
      { mountPath: '/tmp', name: 'tmp' },
    );
  });

  test('rolling updates keep capacity; the pod outlives its preStop pause and drain', () => {
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const preStop = container.lifecycle.preStop.sleep.seconds;
    assert.ok(preStop > 0);
    assert.ok(pod.terminationGracePeriodSeconds > staging.hub.drainSeconds + preStop);
    assert.equal(pod.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
    // A drained node must not count as a domain, or its hubs have nowhere to go.
    assert.equal(pod.topologySpreadConstraints[0].nodeTaintsPolicy, 'Honor');
  });

  test('configuration from the ConfigMap; secrets only by secretKeyRef', () => {
    const config = one(dir, 'ConfigMap', 'hub').data;
    assert.deepEqual(config, {
      HUB_ADMIN_HOST: '0.0.0.0',
      HUB_ADMIN_PORT: String(staging.hub.adminPort),
      HUB_DATA_DIR: '/tmp/hub-data',
      HUB_HOST: '0.0.0.0',
      HUB_PORT: String(staging.hub.port),
      HUB_SHUTDOWN_GRACE_MS: String(staging.hub.drainSeconds * 1000),
      // The gateway's pods: the k3s cluster CIDR of stacks/infra/k3s.ts. Only Cloudflare reaches the
      // gateway, so Cloudflare's header names the agent.
      HUB_TRUSTED_PROXIES: CLUSTER_CIDR,
      HUB_CLIENT_ADDRESS_HEADER: 'cf-connecting-ip',
      // The hub asks Valkey's three sentinels where the primary is; the password is a mounted file.
      REDIS_SENTINELS: [0, 1, 2]
        .map((i) => `valkey-${i}.valkey-headless.ringforge-data.svc.cluster.local:26379`)
        .join(','),
      REDIS_SENTINEL_MASTER: 'ringforge',
      REDIS_PASSWORD_FILE: '/run/secrets/redis/password',
    });
    assert.equal(CLUSTER_CIDR, '10.244.0.0/16');
    const fromConfig = container.env.filter((e: any) => e.valueFrom.configMapKeyRef).map((e: any) => e.name);
    assert.deepEqual(fromConfig.sort(), Object.keys(config).sort());
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e]));
    assert.deepEqual(env.DATABASE_URL.valueFrom.secretKeyRef, { name: 'hub-database', key: 'uri' });
    assert.equal(env.REDIS_URL, undefined);
    const redisAuth = pod.volumes.find((v: any) => v.name === 'redis-auth');
    assert.deepEqual(redisAuth.secret, {
      secretName: 'hub-redis',
      items: [{ key: 'password', path: 'password' }],
      defaultMode: 0o440,
    });
    assert.deepEqual(
      container.volumeMounts.find((m: any) => m.name === 'redis-auth'),
      { mountPath: '/run/secrets/redis', name: 'redis-auth', readOnly: true },
    );
    assert.deepEqual(env.HUB_ADMIN_TOKEN.valueFrom.secretKeyRef, { name: 'hub-admin', key: 'token' });
    assert.ok(container.env.every((e: any) => e.value === undefined));
  });

  test('PDB allows one disruption and never blocks the autoscaler minimum', () => {
    const pdb = one(dir, 'PodDisruptionBudget', 'hub');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.ok(one(dir, 'ScaledObject', 'hub').spec.minReplicaCount - pdb.spec.maxUnavailable >= 1);
  });

  test('a Gateway for the hub host with the origin certificate, on the Traefik GatewayClass', () => {
    const gateway = one(dir, 'Gateway', 'hub');
    assert.equal(gateway.spec.gatewayClassName, 'traefik');
    assert.deepEqual(
      gateway.spec.listeners.map((l: any) => [l.name, l.protocol, l.hostname, l.tls.certificateRefs[0].name]),
      [['https', 'HTTPS', staging.dns.hubHostname, 'hub-tls']],
    );
  });

  test('the HTTPRoute routes only the WebSocket and the health paths, exactly, to the public port', () => {
    for (const cluster of ['dist/k8s/staging', 'dist/k8s/prod/fsn1', 'dist/k8s/prod/hel1']) {
      const route = one(`${cluster}/hub`, 'HTTPRoute', 'hub');
      assert.deepEqual(route.spec.parentRefs, [{ name: 'hub', sectionName: 'https' }], cluster);
      assert.equal(route.spec.rules.length, 1, cluster);
      const [rule] = route.spec.rules;
      assert.deepEqual(
        rule.matches.map((m: any) => [m.path.type, m.path.value]).sort(),
        [
          ['Exact', '/api/health'],
          ['Exact', '/api/ready'],
          ['Exact', '/ws'],
        ],
        cluster,
      );
      assert.deepEqual(rule.backendRefs, [{ name: 'hub', port: 8080 }], cluster);
    }
  });
});

describe('network policies', () => {
  const policy = (dir: string, name: string) => one(dir, 'NetworkPolicy', name).spec;

  test('each namespace denies everything by default, allows DNS, and enforces Pod Security restricted', () => {
    for (const ns of ['ringforge', 'ringforge-data']) {
      const deny = app('dist/k8s/staging/base').objects.find(
        (o: any) => o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny' && o.metadata.namespace === ns,
      ) as any;
      assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      const namespace = one('dist/k8s/staging/base', 'Namespace', ns);
      assert.equal(namespace.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    }
  });

  test('the hub accepts only the Traefik gateway and Prometheus, and reaches only the data services', () => {
    const hub = policy('dist/k8s/staging/hub', 'hub');
    const admitted = hub.ingress.map((rule: any) => [
      rule.from.map((p: any) => p.namespaceSelector.matchLabels['kubernetes.io/metadata.name']),
      rule.ports.map((p: any) => p.port),
    ]);
    assert.deepEqual(admitted, [
      [['traefik'], [staging.hub.port]],
      [['monitoring'], [staging.hub.adminPort]],
    ]);
    assert.deepEqual(
      hub.egress.map((e: any) => e.ports[0].port),
      [5432, 6379],
    );
  });

  test('Postgres admits the hub on 5432 and Prometheus on its metrics port only', () => {
    const pg = policy('dist/k8s/staging/postgres', 'postgres');
    const fromHub = pg.ingress.find(
      (r: any) => r.from[0].namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'ringforge',
    );
    assert.deepEqual(fromHub.ports, [{ protocol: 'TCP', port: 5432 }]);
    const fromPrometheus = pg.ingress.find(
      (r: any) => r.from[0].namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'monitoring',
    );
    assert.deepEqual(fromPrometheus.ports, [{ protocol: 'TCP', port: 9187 }]);
  });
});

describe('CloudNativePG', () => {
  test('primary: two instances on different nodes, Hetzner volumes, limits, Barman Cloud plugin', () => {
    const cluster = one('dist/k8s/staging/postgres', 'Cluster', 'pg');
    assert.ok(cluster.spec.instances >= 2);
    assert.equal(cluster.spec.affinity.podAntiAffinityType, 'required');
    assert.equal(cluster.spec.storage.storageClass, 'hcloud-volumes');
    assert.ok(cluster.spec.resources.limits.memory);
    assert.deepEqual(cluster.spec.plugins, [
      { name: 'barman-cloud.cloudnative-pg.io', isWALArchiver: true, parameters: { barmanObjectName: 'pg-backups' } },
    ]);
    assert.equal(cluster.spec.backup, undefined, 'no deprecated in-tree barmanObjectStore');
    assert.deepEqual(cluster.spec.bootstrap, { initdb: { database: 'hub', owner: 'hub' } });
    assert.equal(cluster.spec.replica, undefined, 'a single region has no distributed topology');
    assert.ok(one('dist/k8s/staging/postgres', 'PodMonitor', 'pg'));
  });

  test('one Postgres major everywhere: CloudNativePG, the tier 0 image, tier 1 packages, local images', () => {
    const major = Number(toolVersions.LOCAL_POSTGRES_MAJOR);
    assert.equal(POSTGRES_MAJOR, major);
    assert.match(toolVersions.LOCAL_POSTGRES_IMAGE!, new RegExp(`:${major}-bookworm$`));
    for (const dir of ['dist/k8s/staging/postgres', 'dist/k8s/prod/fsn1/postgres', 'dist/k8s/prod/hel1/postgres']) {
      assert.match(
        one(dir, 'Cluster', 'pg').spec.imageName,
        new RegExp(`^ghcr\\.io/cloudnative-pg/postgresql:${major}\\.\\d+$`),
      );
    }
    assert.match(SINGLE_NODE_IMAGES.postgres, new RegExp(`^docker\\.io/library/postgres:${major}\\.\\d+-bookworm$`));
    assert.equal(CNPG_IMAGE.split(':')[1], SINGLE_NODE_IMAGES.postgres.split(':')[1]!.replace('-bookworm', ''));
  });

  test('archive_timeout is derived from the RPO: half of it, within the configured bound', () => {
    for (const [env, dir] of [
      [staging, 'dist/k8s/staging/postgres'],
      [prod, 'dist/k8s/prod/fsn1/postgres'],
    ] as const) {
      const expected = Math.min(Math.floor(env.drill.rpoSeconds / 2), env.backup.archiveTimeoutSeconds);
      assert.equal(one(dir, 'Cluster', 'pg').spec.postgresql.parameters.archive_timeout, `${expected}s`);
      assert.ok(expected < env.drill.rpoSeconds);
    }
  });

  test('object store, retention and a six-field backup schedule', () => {
    const store = one('dist/k8s/staging/postgres', 'ObjectStore', 'pg-backups');
    assert.equal(store.spec.retentionPolicy, `${staging.backup.retentionDays}d`);
    assert.equal(staging.backup.retentionDays, 30);
    assert.equal(store.spec.configuration.destinationPath, `s3://${staging.backup.bucket}-nbg1/staging/nbg1`);
    // Off-site: staging runs in Nuremberg and archives to Falkenstein.
    assert.equal(store.spec.configuration.endpointURL, 'https://fsn1.your-objectstorage.com');
    assert.deepEqual(store.spec.configuration.s3Credentials.accessKeyId, {
      name: 'pg-backup-s3',
      key: 'ACCESS_KEY_ID',
    });
    const schedule = one('dist/k8s/staging/postgres', 'ScheduledBackup', 'pg-daily');
    assert.equal(schedule.spec.schedule, `0 ${staging.backup.schedule}`);
    assert.equal(schedule.spec.method, 'plugin');
    assert.deepEqual(schedule.spec.pluginConfiguration, { name: 'barman-cloud.cloudnative-pg.io' });
    assert.throws(() => cnpgSchedule('0 3 * *'), /five-field cron \(got "0 3 \* \*"\)/);
  });

  test('prod: a distributed topology, every region listing both clusters; fsn1 primary, hel1 following it', () => {
    const fsn1 = one('dist/k8s/prod/fsn1/postgres', 'Cluster', 'pg');
    const hel1 = one('dist/k8s/prod/hel1/postgres', 'Cluster', 'pg');
    assert.equal(prod.primaryRegion, 'fsn1');
    assert.deepEqual(fsn1.spec.replica, { primary: 'pg-fsn1', self: 'pg-fsn1', source: 'pg-hel1' });
    assert.deepEqual(hel1.spec.replica, { primary: 'pg-fsn1', self: 'pg-hel1', source: 'pg-fsn1' });
    const plugin = (barmanObjectName: string) => ({
      name: 'barman-cloud.cloudnative-pg.io',
      parameters: { barmanObjectName, serverName: 'pg' },
    });
    assert.deepEqual(fsn1.spec.externalClusters, [
      { name: 'pg-fsn1', plugin: plugin('pg-backups') },
      { name: 'pg-hel1', plugin: plugin('pg-hel1') },
    ]);
    assert.deepEqual(hel1.spec.externalClusters, [
      { name: 'pg-fsn1', plugin: plugin('pg-fsn1') },
      { name: 'pg-hel1', plugin: plugin('pg-backups') },
    ]);
    // Created, the replica restores the primary's archive; promoted, its pg-app names the hub database.
    assert.deepEqual(fsn1.spec.bootstrap, { initdb: { database: 'hub', owner: 'hub' } });
    assert.deepEqual(hel1.spec.bootstrap, { recovery: { source: 'pg-fsn1', database: 'hub', owner: 'hub' } });
  });

  test("k8s:verify's stand-in starts hel1's database in recovery and fsn1's as primary", () => {
    assert.equal(isReplicaCluster(one('dist/k8s/prod/hel1/postgres', 'Cluster', 'pg')), true);
    assert.equal(isReplicaCluster(one('dist/k8s/prod/fsn1/postgres', 'Cluster', 'pg')), false);
    assert.equal(isReplicaCluster(one('dist/k8s/staging/postgres', 'Cluster', 'pg')), false);
  });

  test("prod: each region archives to its own bucket in another location, and reads the other region's", () => {
    const store = (cluster: string, name: string) => one(`dist/k8s/prod/${cluster}/postgres`, 'ObjectStore', name).spec;
    const fsn1 = store('fsn1', 'pg-backups');
    const hel1 = store('hel1', 'pg-backups');
    assert.equal(fsn1.configuration.destinationPath, 's3://ringforge-prod-backups-fsn1/prod/fsn1');
    assert.equal(hel1.configuration.destinationPath, 's3://ringforge-prod-backups-hel1/prod/hel1');
    for (const [region, s] of [
      ['fsn1', fsn1],
      ['hel1', hel1],
    ] as const) {
      const location = new URL(s.configuration.endpointURL).hostname.split('.')[0];
      assert.notEqual(location, region, `${region} archives off-site`);
      assert.equal(s.retentionPolicy, '35d');
    }
    assert.deepEqual(store('hel1', 'pg-fsn1').configuration, fsn1.configuration, 'hel1 reads fsn1 as fsn1 writes it');
    assert.deepEqual(store('fsn1', 'pg-hel1').configuration, hel1.configuration);
    assert.equal(store('hel1', 'pg-fsn1').retentionPolicy, undefined, 'only the writer expires its archive');
  });

  test('switchover: primaryRegion hel1 flips primary/source on both clusters and the bootstrap of a new one', () => {
    // given
    const switched = resolveEnvironment('environments/prod.ts', { ...prodFile, primaryRegion: 'hel1' });
    // when
    const after = renderK8s([switched as HetznerEnvironment]);
    const cluster = (region: string) =>
      after.find((r) => r.dir === `dist/k8s/prod/${region}/postgres`)!.objects.find((o) => o.kind === 'Cluster') as any;
    // then
    assert.deepEqual(cluster('fsn1').spec.replica, { primary: 'pg-hel1', self: 'pg-fsn1', source: 'pg-hel1' });
    assert.deepEqual(cluster('hel1').spec.replica, { primary: 'pg-hel1', self: 'pg-hel1', source: 'pg-fsn1' });
    assert.deepEqual(cluster('fsn1').spec.bootstrap, {
      recovery: { source: 'pg-hel1', database: 'hub', owner: 'hub' },
    });
    // ArgoCD never pushes a changed bootstrap onto a running Cluster.
    const postgresApp = (after.find((r) => r.dir === 'dist/k8s/prod/fsn1')!.objects as any[]).find(
      (a) => a.metadata.name === 'postgres',
    );
    assert.deepEqual(postgresApp.spec.ignoreDifferences, [
      {
        group: 'postgresql.cnpg.io',
        kind: 'Cluster',
        name: 'pg',
        namespace: 'ringforge-data',
        jsonPointers: ['/spec/bootstrap'],
      },
    ]);
    assert.deepEqual(checkRenderedPolicy(after), []);
  });
});

describe('data services and observability', () => {
  test('Valkey: three servers and three sentinels, persistent, with PDB, probes and limits', () => {
    const dir = 'dist/k8s/staging/valkey';
    const sts = one(dir, 'StatefulSet', 'valkey');
    assert.equal(sts.spec.replicas, 3);
    assert.equal(sts.spec.volumeClaimTemplates[0].spec.storageClassName, 'hcloud-volumes');
    const pod = sts.spec.template.spec;
    const byName = Object.fromEntries(pod.containers.map((c: any) => [c.name, c]));
    assert.deepEqual(Object.keys(byName), ['valkey', 'sentinel', 'metrics']);
    assert.deepEqual(
      pod.initContainers.map((c: any) => c.name),
      ['configure'],
    );
    const server = byName.valkey;
    assert.deepEqual(server.command, ['valkey-server', '/etc/valkey/valkey.conf']);
    assert.deepEqual(byName.sentinel.command, ['valkey-server', '/data/sentinel.conf', '--sentinel']);
    assert.ok(server.resources.limits.memory);
    // Three distinct probes: a long startup budget for an AOF replay, a liveness that accepts LOADING,
    // a readiness that knows the role.
    const mode = (p: any) => p.exec.command.at(-1);
    assert.deepEqual(
      [mode(server.startupProbe), mode(server.livenessProbe), mode(server.readinessProbe)],
      ['startup', 'live', 'ready'],
    );
    assert.ok(server.startupProbe.periodSeconds * server.startupProbe.failureThreshold >= 30 * 60);
    const scripts = one(dir, 'ConfigMap', 'valkey-scripts').data;
    assert.match(scripts['probe.sh'], /live\)\n\s+case "\$\(cli 6379 PING\)" in PONG\|LOADING\*/);
    assert.match(scripts['configure.sh'], /sentinel monitor \$MASTER \$primary 6379 \$QUORUM/);
    const quorum = pod.initContainers[0].env.find((e: any) => e.name === 'QUORUM').value;
    assert.equal(quorum, '2');
    assert.equal(one(dir, 'PodDisruptionBudget', 'valkey').spec.maxUnavailable, 1);
    assert.deepEqual(
      one(dir, 'NetworkPolicy', 'valkey').spec.ingress[0].ports.map((p: any) => p.port),
      [6379, 26379],
    );
    // The client Service reaches sentinels only: a client never lands on a replica by chance.
    assert.deepEqual(
      one(dir, 'Service', 'valkey').spec.ports.map((p: any) => [p.name, p.port]),
      [['sentinel', 26379]],
    );
  });

  test('Valkey: the password is never on a command line, in a probe or a literal value', () => {
    const dir = 'dist/k8s/staging/valkey';
    const sts = one(dir, 'StatefulSet', 'valkey');
    const job = one(dir, 'CronJob', 'valkey-snapshot');
    const pods = [sts.spec.template.spec, job.spec.jobTemplate.spec.template.spec];
    const containers = pods.flatMap((p: any) => [...p.containers, ...(p.initContainers ?? [])]);
    assert.equal(containers.length, 6);
    for (const c of containers) {
      const probes = [c.startupProbe, c.readinessProbe, c.livenessProbe].filter(Boolean);
      const argv = [...(c.command ?? []), ...(c.args ?? []), ...probes.flatMap((p: any) => p.exec?.command ?? [])];
      assert.ok(
        !argv.some((a: string) => /pass|auth|\$[A-Z_]*(PASSWORD|SECRET)/i.test(a)),
        `${c.name}: ${argv.join(' ')}`,
      );
      for (const e of c.env ?? []) {
        if (/PASSWORD|SECRET/.test(e.name)) assert.ok(e.valueFrom?.secretKeyRef, `${c.name}: ${e.name}`);
      }
    }
    const scripts = one(dir, 'ConfigMap', 'valkey-scripts').data;
    // valkey-cli takes the password from REDISCLI_AUTH, never from -a.
    for (const [name, text] of Object.entries<string>(scripts)) assert.doesNotMatch(text, / -a /, name);
    assert.deepEqual(
      sts.spec.template.spec.volumes.find((v: any) => v.name === 'auth').secret.secretName,
      'valkey-auth',
    );
  });

  test("Valkey: an RDB snapshot goes to the region's backup bucket every 6 hours", () => {
    const job = one('dist/k8s/staging/valkey', 'CronJob', 'valkey-snapshot');
    assert.equal(job.spec.schedule, '17 */6 * * *');
    assert.equal(job.spec.concurrencyPolicy, 'Forbid');
    const pod = job.spec.jobTemplate.spec.template.spec;
    assert.deepEqual(pod.initContainers[0].command, ['sh', '/scripts/snapshot.sh']);
    const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.S3_BUCKET, `${staging.backup.bucket}-${staging.regions[0]!.name}`);
    assert.match(env.S3_ENDPOINT, /^https:\/\/\w+\.your-objectstorage\.com$/);
    assert.deepEqual(env.ACCESS_KEY_ID, { secretKeyRef: { name: 'pg-backup-s3', key: 'ACCESS_KEY_ID' } });
    assert.ok(one('dist/k8s/staging/valkey', 'NetworkPolicy', 'valkey-snapshot'));
  });

  test("the ServiceMonitor scrapes /metrics on the hub Service's operations port", () => {
    for (const cluster of ['dist/k8s/staging', 'dist/k8s/prod/fsn1', 'dist/k8s/prod/hel1']) {
      const monitor = one(`${cluster}/observability`, 'ServiceMonitor', 'hub');
      assert.deepEqual(monitor.spec.endpoints, [{ port: 'admin', path: '/metrics', interval: '15s' }]);
      const ports = one(`${cluster}/hub`, 'Service', 'hub').spec.ports;
      assert.equal(ports.find((p: any) => p.name === 'admin').port, 9090);
    }
  });

  test('the PrometheusRule carries the RingForge alert groups, labelled with environment and region', () => {
    const rule = one('dist/k8s/prod/hel1/observability', 'PrometheusRule', 'ringforge');
    assert.deepEqual(
      rule.spec.groups.map((g: any) => g.name),
      ['ringforge-region', 'ringforge-hub', 'ringforge-data', 'ringforge-slo-recording', 'ringforge-slo-burn-rate'],
    );
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules.filter((r: any) => r.alert));
    for (const a of alerts) assert.equal(`${a.labels.environment}/${a.labels.region}`, 'prod/hel1', a.alert);
    // promtool checks and unit-tests every rule: test/monitoring/rules.test.ts.
    // The dashboards' own checks: test/dashboards.test.ts.
    const dashboards = one('dist/k8s/staging/observability', 'ConfigMap', 'ringforge-dashboards');
    assert.equal(dashboards.metadata.labels.grafana_dashboard, '1');
    assert.deepEqual(
      Object.keys(dashboards.data).map((file) => JSON.parse(dashboards.data[file]).uid),
      ['ringforge-edge', 'ringforge-hub', 'ringforge-postgres', 'ringforge-slo', 'ringforge-valkey'],
    );
  });
});

describe('GitOps', () => {
  test('child Applications sync in waves: operators, then data, then the hub', () => {
    const apps = Object.fromEntries(applications('dist/k8s/staging').map((a) => [a.metadata.name, wave(a)]));
    assert.deepEqual(Object.keys(apps).sort(), [
      'barman-cloud',
      'base',
      'cert-manager',
      'cloudnative-pg',
      'hub',
      'keda',
      'kube-prometheus-stack',
      'observability',
      'postgres',
      'traefik',
      'valkey',
    ]);
    for (const operator of [
      'cert-manager',
      'cloudnative-pg',
      'barman-cloud',
      'kube-prometheus-stack',
      'traefik',
      'keda',
    ]) {
      assert.ok(apps[operator]! < apps.base!, `${operator} before namespaces`);
    }
    assert.ok(apps['cert-manager']! < apps['barman-cloud']! && apps['cloudnative-pg']! < apps['barman-cloud']!);
    assert.ok(apps.base! < apps.postgres! && apps.postgres! < apps.hub!);
    assert.equal(apps.valkey, apps.postgres);
    assert.ok(apps.hub! <= apps.observability!);
  });

  test('automated sync with self-heal; prune and the cascading finalizer everywhere but on data', () => {
    for (const a of applications('dist/k8s/prod/fsn1')) {
      // cloudnative-pg installs the Cluster CRD, whose deletion would take every database with it.
      const data = ['postgres', 'valkey', 'cloudnative-pg'].includes(a.metadata.name);
      assert.deepEqual(a.spec.syncPolicy.automated, { prune: !data, selfHeal: true }, a.metadata.name);
      assert.equal(a.metadata.finalizers?.includes('resources-finalizer.argocd.argoproj.io') ?? false, !data);
    }
    const hub = applications('dist/k8s/staging').find((a) => a.metadata.name === 'hub');
    assert.deepEqual(hub.spec.ignoreDifferences, [
      { group: 'apps', kind: 'Deployment', name: 'hub', namespace: 'ringforge', jsonPointers: ['/spec/replicas'] },
    ]);
    assert.ok(hub.spec.syncPolicy.syncOptions.includes('RespectIgnoreDifferences=true'));
  });

  test('the database and every object owning volumes carry Prune=false,Delete=false', () => {
    for (const cluster of ['dist/k8s/staging', 'dist/k8s/prod/fsn1', 'dist/k8s/prod/hel1']) {
      const guarded = rendered
        .filter((r) => r.cluster === cluster && r.app !== APP_OF_APPS)
        .flatMap((r) => r.objects as any[])
        .filter((o) => o.metadata.annotations?.['argocd.argoproj.io/sync-options'] === 'Prune=false,Delete=false')
        .map((o) => `${o.kind}/${o.metadata.name}`);
      assert.deepEqual(guarded.sort(), ['Cluster/pg', 'StatefulSet/valkey'], cluster);
    }
  });

  test('repo URL and revision come from the environment', () => {
    for (const [env, cluster] of [
      [staging, 'dist/k8s/staging'],
      [prod, 'dist/k8s/prod/hel1'],
    ] as const) {
      const hub = applications(cluster).find((a) => a.metadata.name === 'hub');
      assert.equal(hub.spec.source.repoURL, env.gitops.repoUrl);
      assert.equal(hub.spec.source.targetRevision, env.gitops.revision);
    }
  });

  test('operators are pinned Helm charts; the Traefik Service adopts the Terraform load balancer', () => {
    for (const a of applications('dist/k8s/prod/hel1').filter((x) => x.spec.source.chart)) {
      assert.match(a.spec.source.targetRevision, /^v?\d+\.\d+\.\d+$/, a.metadata.name);
    }
    const annotationsOf = (cluster: string) =>
      applications(cluster).find((a) => a.metadata.name === 'traefik').spec.source.helm.valuesObject.service
        .annotations;
    assert.equal(annotationsOf('dist/k8s/prod/hel1')['load-balancer.hetzner.cloud/name'], 'prod-hel1-ingress');
    assert.equal(annotationsOf('dist/k8s/prod/hel1')['load-balancer.hetzner.cloud/location'], 'hel1');
    assert.equal(annotationsOf('dist/k8s/staging')['load-balancer.hetzner.cloud/name'], 'staging-ingress');
    assert.equal(
      applications('dist/k8s/staging').some((a) => a.metadata.name === 'ingress-nginx'),
      false,
      'ingress-nginx is retired',
    );
  });

  test('every Application path exists in the synthesized output and in the committed dist/', () => {
    const files = Object.assign({}, ...rendered.map(filesOf)) as Record<string, string>;
    const paths = rendered
      .filter((r) => r.app === APP_OF_APPS)
      .flatMap((r) => r.objects.map((a: any) => a.spec.source.path))
      .filter(Boolean);
    assert.equal(paths.length, 15);
    for (const path of paths) {
      assert.ok(
        Object.keys(files).some((f) => f.startsWith(`${path}/`)),
        `${path} is synthesized`,
      );
      assert.ok(
        existsSync(join(repoRoot, path)) && readdirSync(join(repoRoot, path)).length > 0,
        `${path} is committed`,
      );
    }
  });
});

describe('schema validation', () => {
  let validator: K8sSchemaValidator;
  before(() => {
    validator = new K8sSchemaValidator();
  });

  const committed = (): Manifest[] => {
    const dir = join(repoRoot, 'dist', 'k8s');
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
      .flatMap((e) =>
        parseAllDocuments(readFileSync(join(e.parentPath, e.name), 'utf8')).map((d) => d.toJS() as Manifest),
      );
  };

  test('every object in dist/k8s validates against its schema, custom resources included', async () => {
    const objects = committed();
    assert.equal(
      objects.length,
      rendered.reduce((n, r) => n + r.objects.length, 0),
    );
    assert.ok(objects.some((o) => o.kind === 'Cluster') && objects.some((o) => o.kind === 'Application'));
    assert.deepEqual(await validator.validate(objects), []);
  });

  const deployment = () => structuredClone(one('dist/k8s/staging/hub', 'Deployment', 'hub'));
  const cluster = () => structuredClone(one('dist/k8s/staging/postgres', 'Cluster', 'pg'));
  const application = () => structuredClone(applications('dist/k8s/staging').find((a) => a.metadata.name === 'hub'));

  test('rejects an unknown field in a core kind', async () => {
    const d = deployment();
    d.spec.replicaz = 3;
    assert.deepEqual(
      (await validator.validate([d])).map((v) => v.message),
      ['/spec: unknown field "replicaz"'],
    );
  });

  test('rejects a wrong type in a core kind', async () => {
    const d = deployment();
    d.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    assert.ok((await validator.validate([d])).some((v) => v.message.includes('/containerPort')));
  });

  test('rejects an unknown field and a wrong type in a CloudNativePG Cluster', async () => {
    const unknown = cluster();
    unknown.spec.instancez = 3;
    const wrongType = cluster();
    wrongType.spec.instances = 'two';
    const found = (await validator.validate([unknown, wrongType])).map((v) => v.message);
    assert.deepEqual(found, ['/spec: unknown field "instancez"', '/spec/instances: must be integer']);
  });

  test('rejects an unknown field in an ArgoCD Application and a nested one in a ServiceMonitor', async () => {
    const a = application();
    a.spec.source.pathz = 'x';
    const monitor = structuredClone(one('dist/k8s/staging/observability', 'ServiceMonitor', 'hub'));
    monitor.spec.endpoints[0].intervall = '15s';
    const found = (await validator.validate([a, monitor])).map((v) => `${v.kind} ${v.message}`);
    assert.deepEqual(found, [
      'Application /spec/source: unknown field "pathz"',
      'ServiceMonitor /spec/endpoints/0: unknown field "intervall"',
    ]);
  });

  test('an object whose kind has no schema is a failure, never skipped', async () => {
    const found = await validator.validate([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]);
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /no schema for example\.com\/v1\/Widget/);
  });
});
