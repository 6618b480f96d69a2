/*
 * `npm run containers:check`: the hub image and the tier 0 stack, run for real under podman.
 *   1. builds src/hub/Dockerfile against the local Node 24 base and reports its size;
 *   2. runs it with a read-only root filesystem as uid 10001 beside Postgres and Valkey containers,
 *      both listeners published on loopback, and probes the public one (/api/health, /api/ready, a
 *      WebSocket round trip, 404 for /metrics and the admin API) and the operations one (/metrics,
 *      the admin API);
 *   3. starts tier 0's rendered compose file (dist/compose/<env>/) with podman-compose, substituted
 *      only as scripts/containers/compose-local.ts says, and probes the hub through the TLS proxy as
 *      Cloudflare reaches it, with a test origin-pull client certificate (the proxy must answer 404
 *      for /metrics and the admin API, and 400 to a client without the certificate) and on its
 *      loopback operations port, and checks its Prometheus scrapes every target up and has every
 *      series the tiers 0-1 rules read.
 * Everything it starts is removed at the end, also on failure. Writes reports/containers/.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chownSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { freePort } from '../lib/local-services.ts';
import { writeReport } from '../lib/report.ts';
import { ALERTMANAGER_SECRETS_DIR, ORIGIN_PULL_CA_FILE } from '../../constructs/hetzner/roles/single-node.ts';
import { backupMetricScript } from '../../constructs/hetzner/roles/wal-shipping.ts';
import { NODE_EXPORTER_TEXTFILE_DIR } from '../../constructs/monitoring/servers.ts';
import { repoRoot } from '../lib/tools.ts';
import { localizeCompose, type Substitution } from './compose-local.ts';
import {
  makeClientPki,
  makeServerCertificate,
  startOriginPullRelay,
  statusWithoutClientCertificate,
} from './origin-pull.ts';
import { buildHubImage, type HubImage } from './hub-image.ts';
import { imageSizeBytes, localImages, podman, podmanEnv, requirePodman, run, waitFor } from './podman.ts';
import type { ProbeResult } from './probe.ts';

const ENV = process.env.RINGFORGE_COMPOSE_ENV ?? 'dev';
const PROJECT = `rfcheck${process.pid}`;
/** The official postgres and valkey images run as uid 999; cloud-init prepares their directories for it. */
const DATA_OWNER = 999;
/** The upstream Prometheus, Alertmanager and exporter images run as nobody. */
const MONITORING_OWNER = 65534;
/** The hub image's listeners (src/hub/Dockerfile): public and operations. */
const HUB_PORT = 8080;
const HUB_ADMIN_PORT = 9090;

const execFileAsync = promisify(execFile);
const say = (line: string) => console.log(`[containers] ${line}`);
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;
const secret = () => randomBytes(24).toString('hex');

/** Runs probe.ts in its own process; asynchronously, so a relay in this process keeps serving it. */
async function runProbe(base: string, operations: string, adminToken: string): Promise<ProbeResult> {
  const script = join(repoRoot, 'scripts/containers/probe.ts');
  const result = await execFileAsync(process.execPath, ['--import', 'tsx', script, base, operations], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 150_000,
    env: { ...process.env, HUB_ADMIN_TOKEN: adminToken },
  }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`probe of ${base} failed: ${error.stderr || error.message}`);
  });
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ProbeResult;
}

/** The last lines a container wrote, stdout and stderr interleaved. */
function logsOf(container: string): string {
  const logs = spawnSync('podman', ['logs', '--tail', '15', container], {
    env: podmanEnv(),
    encoding: 'utf8',
    timeout: 10_000,
  });
  return `${logs.stdout}${logs.stderr}`.slice(-3000);
}

const execSucceeds = (container: string, command: readonly string[]): boolean =>
  spawnSync('podman', ['exec', container, ...command], { env: podmanEnv(), timeout: 10_000 }).status === 0;

interface ImageCheck {
  readonly user: string;
  readonly readOnlyRootfs: boolean;
  readonly appWritable: boolean;
  readonly probe: ProbeResult;
}

/** The hub image beside Postgres and Valkey containers on a network of its own. */
async function checkHubContainer(image: HubImage, removers: (() => void)[]): Promise<ImageCheck> {
  const network = `${PROJECT}-net`;
  const password = secret();
  const adminToken = secret();
  podman(['network', 'create', network]);
  removers.push(() => podman(['network', 'rm', '-f', network]));
  const start = (name: string, args: readonly string[]) => {
    removers.push(() => podman(['rm', '-f', '-t', '5', name], 60));
    podman(['run', '-d', '--name', name, `--network=${network}`, ...args]);
  };
  start(`${PROJECT}-postgres`, [
    '-e',
    'POSTGRES_DB=ringforge',
    '-e',
    'POSTGRES_USER=ringforge',
    '-e',
    `POSTGRES_PASSWORD=${password}`,
    localImages.postgres,
  ]);
  start(`${PROJECT}-valkey`, [localImages.valkey, '--save', '', '--appendonly', 'no', '--protected-mode', 'no']);
  await waitFor('postgres container: pg_isready', 90, () =>
    execSucceeds(`${PROJECT}-postgres`, ['pg_isready', '-h', '127.0.0.1', '-U', 'ringforge', '-d', 'ringforge']),
  );
  await waitFor('valkey container: valkey-cli ping', 30, () =>
    execSucceeds(`${PROJECT}-valkey`, ['valkey-cli', 'ping']),
  );

  const [port, adminPort] = await Promise.all([freePort(), freePort()]);
  const hub = `${PROJECT}-hub`;
  start(hub, [
    '--read-only',
    '--user=10001:10001',
    '--tmpfs=/tmp',
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    `--publish=127.0.0.1:${port}:${HUB_PORT}`,
    `--publish=127.0.0.1:${adminPort}:${HUB_ADMIN_PORT}`,
    '-e',
    `DATABASE_URL=postgres://ringforge:${password}@${PROJECT}-postgres:5432/ringforge`,
    '-e',
    `REDIS_URL=redis://${PROJECT}-valkey:6379`,
    '-e',
    `HUB_ADMIN_TOKEN=${adminToken}`,
    image.ref,
  ]);
  const probe = await runProbe(`http://127.0.0.1:${port}`, `http://127.0.0.1:${adminPort}`, adminToken);
  const user = podman(['exec', hub, 'id', '-u']);
  const readOnlyRootfs = podman(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', hub]) === 'true';
  const appWritable = execSucceeds(hub, ['node', '-e', "require('fs').writeFileSync('/app/probe', '')"]);
  if (user !== '10001') throw new Error(`hub container runs as uid ${user}, expected 10001`);
  if (!readOnlyRootfs) throw new Error('hub container root filesystem is not read-only');
  if (appWritable) throw new Error('hub container could write to /app');
  return { user, readOnlyRootfs, appWritable, probe };
}

interface StackCheck {
  readonly composeFile: string;
  readonly substitutions: readonly Substitution[];
  readonly upSeconds: number;
  readonly httpRedirect: string;
  /** Status of /api/health for a TLS client without the origin-pull certificate. */
  readonly withoutCertificate: number;
  readonly probe: ProbeResult;
  readonly services: Record<string, string>;
  readonly monitoring: MonitoringCheck;
}

interface MonitoringCheck {
  /** Health of each scrape target, by job. */
  readonly targets: Record<string, string>;
  readonly ruleGroups: number;
  /** Series the rules read, with how many of each Prometheus has. */
  readonly series: Record<string, number>;
  readonly alertmanagerReady: boolean;
}

/** Series of each exporter that the tiers 0-1 rules read: they must exist, or the rules watch nothing. */
const RULE_SERIES = [
  'pg_stat_archiver_archived_count',
  'pg_stat_archiver_failed_count',
  'pg_stat_activity_count',
  'pg_settings_max_connections',
  'ringforge_replication_lag_seconds',
  'ringforge_replication_in_recovery',
  'ringforge_replication_wal_receiver_up',
  'ringforge_backup_last_success_timestamp_seconds',
  'redis_memory_used_bytes',
  'redis_memory_max_bytes',
  'hub_connected_agents',
  'hub_database_pool_max_connections',
];

/**
 * The stack's Prometheus, through its loopback port: every target up, the rule groups loaded, and
 * each series the rules read present (the backup job's textfile included). Alertmanager ready.
 */
async function checkMonitoring(prometheus: string, alertmanager: string): Promise<MonitoringCheck> {
  const api = async <T>(path: string): Promise<T> =>
    ((await (await fetch(`${prometheus}${path}`)).json()) as { data: T }).data;
  let targets: Record<string, string> = {};
  await waitFor('Prometheus: every scrape target up', 90, async () => {
    const { activeTargets } = await api<{ activeTargets: { labels: { job: string }; health: string }[] }>(
      '/api/v1/targets',
    ).catch(() => ({ activeTargets: [] }));
    targets = Object.fromEntries(activeTargets.map((t) => [t.labels.job, t.health]));
    return activeTargets.length > 0 && Object.values(targets).every((h) => h === 'up');
  }).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(targets)}`);
  });
  const { groups } = await api<{ groups: unknown[] }>('/api/v1/rules');
  const series: Record<string, number> = {};
  await waitFor('Prometheus: every series the rules read', 60, async () => {
    for (const name of RULE_SERIES) {
      series[name] = (
        await api<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent(name)}`)
      ).result.length;
    }
    return Object.values(series).every((n) => n > 0);
  }).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(series)}`);
  });
  const alertmanagerReady = (await fetch(`${alertmanager}/-/ready`)).ok;
  if (!alertmanagerReady) throw new Error('Alertmanager is not ready');
  return { targets, ruleGroups: groups.length, series, alertmanagerReady };
}

/** Tier 0's compose file under podman-compose, checked through the TLS proxy on loopback. */
async function checkStack(image: HubImage, removers: (() => void)[]): Promise<StackCheck> {
  const rendered = join(repoRoot, 'dist/compose', ENV);
  const root = mkdtempSync(join(tmpdir(), 'rf-tier0-'));
  removers.push(() => rmSync(root, { recursive: true, force: true }));
  const etc = join(root, 'etc');
  const data = join(root, 'data');
  mkdirSync(join(etc, 'secrets/tls'), { recursive: true, mode: 0o700 });
  // As cloud-init and the secrets runbook prepare a tier 0 server.
  for (const dir of ['postgres', 'valkey', 'wal-spool']) {
    mkdirSync(join(data, dir), { recursive: true, mode: 0o700 });
    if (dir !== 'wal-spool') chownSync(join(data, dir), DATA_OWNER, DATA_OWNER);
  }
  chownSync(join(data, 'wal-spool'), DATA_OWNER, DATA_OWNER);
  for (const dir of ['prometheus', 'alertmanager']) {
    mkdirSync(join(data, dir), { mode: 0o700 });
    chownSync(join(data, dir), MONITORING_OWNER, MONITORING_OWNER);
  }
  // A successful base backup's record, as the backup job leaves it for the node exporter.
  const textfiles = join(root, 'textfile');
  mkdirSync(textfiles, { mode: 0o755 });
  const backupMetric = join(root, 'backup-metric.sh');
  writeFileSync(backupMetric, backupMetricScript(textfiles), { mode: 0o755 });
  const recorded = spawnSync(backupMetric, [], { env: { ...process.env, SERVICE_RESULT: 'success' }, timeout: 10_000 });
  if (recorded.status !== 0) throw new Error(`${backupMetric} failed: ${recorded.stderr}`);
  const password = secret();
  const adminToken = secret();
  writeFileSync(join(etc, 'secrets/postgres-password'), `${password}\n`, { mode: 0o600 });
  writeFileSync(
    join(etc, 'secrets/hub.env'),
    `DATABASE_URL=postgres://ringforge:${password}@postgres:5432/ringforge\nHUB_ADMIN_TOKEN=${adminToken}\n`,
    { mode: 0o600 },
  );
  // A self-signed stand-in for the Cloudflare origin certificate, valid for the loopback address probed,
  // and a test CA in the role of Cloudflare's origin-pull CA, whose client certificate the relay presents.
  const hostname = /server_name ([^;]+);/.exec(readFileSync(join(rendered, 'nginx.conf'), 'utf8'))?.[1] ?? 'localhost';
  const tls = join(etc, 'secrets/tls');
  makeServerCertificate(hostname, join(tls, 'origin.crt'), join(tls, 'origin.key'));
  const originPull = makeClientPki(root, 'origin-pull');
  copyFileSync(originPull.ca, join(tls, ORIGIN_PULL_CA_FILE));
  copyFileSync(join(rendered, 'nginx.conf'), join(etc, 'nginx.conf'));
  mkdirSync(join(etc, 'monitoring'));
  for (const file of readdirSync(join(rendered, 'monitoring'))) {
    copyFileSync(join(rendered, 'monitoring', file), join(etc, 'monitoring', file));
  }
  writeFileSync(
    join(etc, 'secrets/postgres-exporter.env'),
    `DATA_SOURCE_NAME=postgresql://ringforge:${password}@postgres:5432/ringforge?sslmode=disable\n`,
    { mode: 0o600 },
  );
  // Each receiver credential the Alertmanager config names, readable by its user; nothing listens there.
  const alertmanagerSecrets = join(etc, 'secrets', ALERTMANAGER_SECRETS_DIR.split('/').at(-1)!);
  const amConfig = readFileSync(join(rendered, 'monitoring/alertmanager.yml'), 'utf8');
  for (const [, secretName, key] of amConfig.matchAll(/_file: \/etc\/alertmanager\/secrets\/([^/\s]+)\/(\S+)/g)) {
    mkdirSync(join(alertmanagerSecrets, secretName!), { recursive: true });
    writeFileSync(join(alertmanagerSecrets, secretName!, key!), 'http://127.0.0.1:9/unused\n', { mode: 0o400 });
    chownSync(join(alertmanagerSecrets, secretName!, key!), MONITORING_OWNER, MONITORING_OWNER);
  }

  const [postgresPort, adminPort, httpPort, httpsPort, prometheusPort, alertmanagerPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const source = readFileSync(join(rendered, 'compose.yaml'), 'utf8');
  const hubAdminPort = Number((parse(source) as ComposeFile).services.hub?.environment?.HUB_ADMIN_PORT);
  if (!Number.isInteger(hubAdminPort)) throw new Error('the compose file sets no HUB_ADMIN_PORT for the hub');
  const local = localizeCompose(source, {
    images: {
      postgres: localImages.postgres,
      valkey: localImages.valkey,
      hub: image.ref,
      proxy: localImages.nginx,
      prometheus: localImages.prometheus,
      alertmanager: localImages.alertmanager,
      'node-exporter': localImages.nodeExporter,
      'postgres-exporter': localImages.postgresExporter,
      'valkey-exporter': localImages.redisExporter,
    },
    hostPaths: { '/etc/ringforge': etc, '/mnt/data': data, [NODE_EXPORTER_TEXTFILE_DIR]: textfiles },
    ports: {
      'postgres:5432': postgresPort,
      [`hub:${hubAdminPort}`]: adminPort,
      'proxy:8080': httpPort,
      'proxy:8443': httpsPort,
      'prometheus:9090': prometheusPort,
      'alertmanager:9093': alertmanagerPort,
    },
  });
  const composeFile = join(etc, 'compose.yaml');
  writeFileSync(composeFile, local.yaml);

  const compose = (args: readonly string[], timeoutSeconds: number) =>
    run('podman-compose', ['-p', PROJECT, '-f', composeFile, ...args], timeoutSeconds, etc);
  removers.push(() => {
    compose(['down', '-t', '10'], 180);
    // A container that was restarting during `down` escapes it.
    const left = podman(['ps', '-a', '-q', '--filter', `label=io.podman.compose.project=${PROJECT}`]);
    if (left !== '') podman(['rm', '-f', '-t', '0', ...left.split('\n')]);
    for (const network of new Set(['default', ...networkNames(local.yaml)])) {
      podman(['network', 'rm', '-f', `${PROJECT}_${network}`]);
    }
  });
  createNetworks(local.yaml);
  const up = Date.now();
  try {
    await upInDependencyOrder(local.yaml, (service) => compose(['up', '-d', '--no-deps', service], 180));
  } catch (error) {
    for (const name of podman([
      'ps',
      '-a',
      '--filter',
      `label=io.podman.compose.project=${PROJECT}`,
      '--format',
      '{{.Names}}',
    ]).split('\n')) {
      if (name !== '') console.error(`--- ${name}\n${logsOf(name)}`);
    }
    throw error;
  }
  // The probe reaches the proxy as agents do: through Cloudflare, here the relay with its client certificate.
  const origin = { port: httpsPort, hostname, originCa: join(tls, 'origin.crt') };
  const relay = await startOriginPullRelay(origin, originPull);
  removers.push(() => relay.close());
  const probe = await runProbe(`http://127.0.0.1:${relay.port}`, `http://127.0.0.1:${adminPort}`, adminToken);
  const withoutCertificate = await statusWithoutClientCertificate(origin, '/api/health');
  if (withoutCertificate !== 400) {
    throw new Error(
      `the proxy answered ${withoutCertificate} to a client without the origin-pull certificate, expected 400`,
    );
  }
  const upSeconds = seconds(up);
  const redirect = await fetch(`http://127.0.0.1:${httpPort}/api/health`, { redirect: 'manual' });
  const httpRedirect = `${redirect.status} ${redirect.headers.get('location')}`;
  if (redirect.status !== 308)
    throw new Error(`plain HTTP on the proxy answered ${httpRedirect}, expected a 308 to https`);
  const monitoring = await checkMonitoring(
    `http://127.0.0.1:${prometheusPort}`,
    `http://127.0.0.1:${alertmanagerPort}`,
  );
  const services = Object.fromEntries(
    podman(['ps', '--filter', `label=io.podman.compose.project=${PROJECT}`, '--format', '{{.Names}}\t{{.Status}}'])
      .split('\n')
      .map((line) => line.replace(`${PROJECT}_`, '').split('\t') as [string, string]),
  );
  return {
    composeFile: `dist/compose/${ENV}/compose.yaml`,
    substitutions: local.substitutions,
    upSeconds,
    httpRedirect,
    withoutCertificate,
    probe,
    services,
    monitoring,
  };
}

interface ComposeService {
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  environment?: Record<string, string>;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } } | null>;
}

const networkNames = (composeYaml: string): string[] => Object.keys((parse(composeYaml) as ComposeFile).networks ?? {});

/**
 * Creates the file's networks with their `ipam` subnets, as docker compose does: podman-compose
 * 1.0.3 ignores `ipam` and would pick a subnet of its own, and the hub trusts the proxy by the
 * subnet the file gives. podman-compose then finds the networks and uses them.
 */
function createNetworks(composeYaml: string): void {
  const networks = (parse(composeYaml) as ComposeFile).networks ?? {};
  for (const [name, network] of Object.entries(networks)) {
    const subnets = (network?.ipam?.config ?? []).flatMap((c) => (c.subnet === undefined ? [] : [c.subnet]));
    podman([
      'network',
      'create',
      '--label',
      `io.podman.compose.project=${PROJECT}`,
      ...subnets.flatMap((subnet) => ['--subnet', subnet]),
      `${PROJECT}_${name}`,
    ]);
  }
}

/**
 * `up -d` one service at a time, each once its dependencies meet their `depends_on` conditions, the
 * way docker compose does. podman-compose 1.0.3 ignores the conditions, and its translation of a
 * `CMD` health check quotes the hub's wrongly, so each check is the file's own `test` command,
 * run with `podman exec`.
 */
async function upInDependencyOrder(composeYaml: string, up: (service: string) => void): Promise<void> {
  const services = (parse(composeYaml) as ComposeFile).services;
  const started = new Set<string>();
  const start = async (name: string, path: readonly string[]): Promise<void> => {
    if (started.has(name)) return;
    if (path.includes(name)) throw new Error(`depends_on cycle: ${[...path, name].join(' -> ')}`);
    for (const [dependency, { condition }] of Object.entries(services[name]?.depends_on ?? {})) {
      await start(dependency, [...path, name]);
      if (condition !== 'service_healthy') continue;
      const test = services[dependency]?.healthcheck?.test ?? [];
      if (test[0] !== 'CMD') throw new Error(`${dependency}: health check ${JSON.stringify(test)} is not a CMD form`);
      await waitFor(`${dependency} healthy (${test.slice(1).join(' ')}) before ${name} starts`, 120, () =>
        execSucceeds(`${PROJECT}_${dependency}_1`, test.slice(1)),
      );
    }
    say(`tier 0 stack: starting ${name}`);
    up(name);
    started.add(name);
  };
  for (const name of Object.keys(services)) await start(name, []);
}

const notPublic = (probe: ProbeResult) =>
  Object.entries(probe.notPublic)
    .map(([request, status]) => `${request} ${status}`)
    .join(', ');

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  requirePodman();
  const started = Date.now();
  const removers: (() => void)[] = [];
  const durations: Record<string, number> = {};
  const timed = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
    const at = Date.now();
    say(`${name} ...`);
    const result = await step();
    durations[name] = seconds(at);
    say(`${name}: done in ${durations[name]}s`);
    return result;
  };
  try {
    const image = await timed('hub image build', buildHubImage);
    say(`hub image ${image.ref}: ${mib(image.sizeBytes)} (base ${image.baseImage})`);
    const container = await timed('hub container', () => checkHubContainer(image, removers));
    say(
      `hub container: uid ${container.user}, read-only root, health ${container.probe.health}, ready ${container.probe.ready}, DM round trip ${container.probe.dmRoundTripMs} ms; public port ${notPublic(container.probe)}; operations port /metrics ${container.probe.metrics}`,
    );
    const stack = await timed('tier 0 stack', () => checkStack(image, removers));
    say(
      `tier 0 monitoring: targets ${JSON.stringify(stack.monitoring.targets)}, ${stack.monitoring.ruleGroups} rule groups, every series the rules read present, Alertmanager ready`,
    );
    say(
      `tier 0 stack through the TLS proxy: ready ${stack.probe.ready}, DM round trip ${stack.probe.dmRoundTripMs} ms, ${notPublic(stack.probe)}, without the origin-pull certificate ${stack.withoutCertificate}; operations port /metrics ${stack.probe.metrics}`,
    );
    const baseImages = Object.fromEntries(Object.values(localImages).map((ref) => [ref, imageSizeBytes(ref)]));
    const data = {
      hubImage: image,
      baseImages,
      container,
      stack,
      durationsSeconds: durations,
      totalSeconds: seconds(started),
    };
    const dir = writeReport('containers', data, markdown(data));
    say(`passed in ${seconds(started)}s; report in ${dir}`);
  } finally {
    for (const remove of removers.reverse()) {
      try {
        remove();
      } catch (error) {
        console.error(`[containers] cleanup: ${(error as Error).message}`);
      }
    }
  }
}

function markdown(d: {
  hubImage: HubImage;
  baseImages: Record<string, number>;
  container: ImageCheck;
  stack: StackCheck;
  durationsSeconds: Record<string, number>;
  totalSeconds: number;
}): string {
  return [
    '# Container checks',
    '',
    `Hub image \`${d.hubImage.ref}\` built with podman from src/hub/Dockerfile on \`${d.hubImage.baseImage}\`: **${mib(d.hubImage.sizeBytes)}**.`,
    '',
    '| image | size |',
    '| --- | --- |',
    ...Object.entries(d.baseImages).map(([ref, bytes]) => `| \`${ref}\` | ${mib(bytes)} |`),
    '',
    '## Hub container',
    '',
    `uid ${d.container.user}, read-only root filesystem, /app not writable; /api/health ${d.container.probe.health}, /api/ready ${d.container.probe.ready} after ${d.container.probe.readySeconds}s, WebSocket DM round trip ${d.container.probe.dmRoundTripMs} ms.`,
    '',
    `Public port: ${notPublic(d.container.probe)}. Operations port: /metrics ${d.container.probe.metrics}, admin API used to provision the probe's tenant and key.`,
    '',
    `## Tier 0 stack (${d.stack.composeFile} under podman-compose)`,
    '',
    `Through the TLS proxy: /api/health ${d.stack.probe.health}, /api/ready ${d.stack.probe.ready} (${d.stack.upSeconds}s after \`up\`), WebSocket DM round trip ${d.stack.probe.dmRoundTripMs} ms; ${notPublic(d.stack.probe)}; plain HTTP answers \`${d.stack.httpRedirect}\`; a TLS client without the origin-pull certificate gets ${d.stack.withoutCertificate}. The hub's operations port on the host's loopback: /metrics ${d.stack.probe.metrics}, admin API used to provision the probe's tenant and key.`,
    '',
    `Monitoring: Prometheus scrapes ${Object.entries(d.stack.monitoring.targets)
      .map(([job, health]) => `${job} ${health}`)
      .join(
        ', ',
      )}; ${d.stack.monitoring.ruleGroups} rule groups loaded; Alertmanager ready. Series the rules read: ${Object.entries(
      d.stack.monitoring.series,
    )
      .map(([name, n]) => `\`${name}\` ${n}`)
      .join(', ')}.`,
    '',
    '| service | status |',
    '| --- | --- |',
    ...Object.entries(d.stack.services).map(([name, status]) => `| ${name} | ${status} |`),
    '',
    'Substitutions made to run it here (everything else is the rendered file):',
    '',
    ...d.stack.substitutions.map(
      (s) => `- \`${s.path}\`: \`${s.from}\` → \`${s.to.replace(/\/tmp\/rf-tier0-[^/]+/, '<scratch>')}\``,
    ),
    '',
    '## Durations',
    '',
    ...Object.entries(d.durationsSeconds).map(([step, s]) => `- ${step}: ${s}s`),
    `- total: ${d.totalSeconds}s`,
  ].join('\n');
}

main().catch((error: Error) => {
  console.error(`[containers] FAILED: ${error.message}`);
  process.exit(1);
});
