import { debianPostgresPaths, POSTGRES_MAJOR } from '../../postgres-version.ts';
import { DEFAULT_HUB_ADMIN_PORT, hubListenerEnvironment } from '../../hub-listeners.ts';
import {
  NODE_EXPORTER_TEXTFILE_DIR,
  POSTGRES_EXPORTER_QUERIES,
  PROMETHEUS_RETENTION,
  renderPrometheusConfig,
  renderServerAlertmanagerConfig,
  serverRuleFile,
  type ScrapeTargets,
  type ServerMonitoring,
} from '../../monitoring/servers.ts';
import type { CloudConfig } from '../cloud-config.ts';
import { ORIGIN_PULL_CA_FILE, renderNginxConf, SINGLE_NODE_IMAGES } from './single-node.ts';
import { bindDataVolume } from './data-volume.ts';
import { systemdUnit } from './systemd.ts';
import { walShipping, type BackupTarget } from './wal-shipping.ts';

/** The hub container's copy of the Valkey password, readable by its user only. */
const HUB_REDIS_PASSWORD = '/run/ringforge/redis-password';

/** The name the sentinels give the Valkey primary; the hubs ask for it. */
export const SENTINEL_MASTER = 'ringforge';
export const SENTINEL_PORT = 26379;
/** The Valkey password, one line, on every Valkey and sentinel server and every hub (secrets runbook). */
const REDIS_PASSWORD_FILE = '/etc/ringforge/secrets/redis-password';

/*
 * cloud-init for the tier 1 roles. Services listen on the private network only; the public
 * firewall admits nothing but SSH from admin networks (and, for hubs, the load balancer reaches
 * them privately). Secrets come from /etc/ringforge/secrets, provisioned by the secrets runbook.
 */

export interface HubNodeProps {
  readonly hubImage: string;
  /** Public hostname nginx answers for. */
  readonly hostname: string;
  /** Public listener (WebSocket, health): nginx's upstream, and the load balancer's health checks. */
  readonly hubPort: number;
  /**
   * Operations listener (`/metrics`, admin API), published on the private address only.
   * @default 9090
   */
  readonly hubAdminPort?: number;
  /** Path agents open their WebSocket on. @default '/ws' */
  readonly websocketPath?: string;
  readonly drainSeconds: number;
  readonly privateIp: string;
  /** Private `address:port` of each Valkey sentinel; the hub asks them where the primary is. */
  readonly sentinels: readonly string[];
}

/** Port nginx takes TLS on, on the private address: the load balancer passes TCP 443 through to it. */
export const HUB_NODE_PROXY_PORT = 8443;
/** The container network of the hub and nginx; the hub believes `X-Forwarded-For` from it only. */
const PROXY_NETWORK = { name: 'ringforge', cidr: '172.30.0.0/24' } as const;
const TLS_DIR = '/etc/ringforge/secrets/tls';

/**
 * A hub server (image DOCKER_IMAGE): the hub container and, in front of it, tier 0's nginx
 * (renderNginxConf: TLS with the origin certificate, Cloudflare's origin-pull certificate required,
 * the public routes only), each a systemd unit on one container network. The load balancer passes
 * TCP 443 through to nginx on the private address and health-checks the hub's public port there;
 * the operations port is published privately for Prometheus. Nothing on the internet reaches any of
 * them (the firewall admits SSH only).
 */
export function hubNodeCloudConfig(p: HubNodeProps): CloudConfig {
  const adminPort = p.hubAdminPort ?? DEFAULT_HUB_ADMIN_PORT;
  const environment = {
    ...hubListenerEnvironment({ port: p.hubPort, adminPort, trustedProxies: [PROXY_NETWORK.cidr] }),
    HUB_SHUTDOWN_GRACE_MS: String(p.drainSeconds * 1000),
    REDIS_SENTINELS: p.sentinels.join(','),
    REDIS_SENTINEL_MASTER: SENTINEL_MASTER,
    REDIS_PASSWORD_FILE: '/run/secrets/redis-password',
  };
  const hub = [
    `/usr/bin/docker run --rm --name hub --network ${PROXY_NETWORK.name}`,
    `--publish ${p.privateIp}:${p.hubPort}:${p.hubPort} --publish ${p.privateIp}:${adminPort}:${adminPort}`,
    '--read-only --tmpfs /tmp --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges:true',
    `--volume ${HUB_REDIS_PASSWORD}:/run/secrets/redis-password:ro`,
    `--env-file /etc/ringforge/secrets/hub.env ${Object.entries(environment)
      .map(([key, value]) => `--env ${key}=${value}`)
      .join(' ')}`,
    `--stop-timeout ${p.drainSeconds + 5}`,
    p.hubImage,
  ].join(' ');
  const proxy = [
    `/usr/bin/docker run --rm --name hub-proxy --network ${PROXY_NETWORK.name}`,
    `--publish ${p.privateIp}:${HUB_NODE_PROXY_PORT}:8443`,
    '--read-only --tmpfs /tmp --tmpfs /var/cache/nginx --tmpfs /var/run --security-opt no-new-privileges:true',
    `--volume /etc/ringforge/nginx.conf:/etc/nginx/nginx.conf:ro --volume ${TLS_DIR}:/etc/nginx/tls:ro`,
    SINGLE_NODE_IMAGES.proxy,
  ].join(' ');
  const network = `/bin/sh -c 'docker network inspect ${PROXY_NETWORK.name} >/dev/null 2>&1 || docker network create --subnet ${PROXY_NETWORK.cidr} ${PROXY_NETWORK.name}'`;
  const nginxConf = renderNginxConf({
    hostname: p.hostname,
    hubPort: p.hubPort,
    hubAdminPort: adminPort,
    websocketPath: p.websocketPath,
    networkCidr: PROXY_NETWORK.cidr,
  });
  return {
    writeFiles: [
      { path: '/etc/ringforge/nginx.conf', content: nginxConf },
      {
        path: '/etc/systemd/system/ringforge-hub.service',
        content: systemdUnit({
          Unit: {
            Description: 'RingForge hub',
            After: 'docker.service',
            Requires: 'docker.service',
            ConditionPathExists: ['/etc/ringforge/secrets/hub.env', REDIS_PASSWORD_FILE],
          },
          Service: {
            ExecStartPre: [
              network,
              // The secrets directory is root's; the container's user reads a copy on the tmpfs /run.
              `/usr/bin/install -D -m 0400 -o 10001 -g 10001 ${REDIS_PASSWORD_FILE} ${HUB_REDIS_PASSWORD}`,
            ],
            ExecStart: hub,
            ExecStop: '/usr/bin/docker stop hub',
            Restart: 'always',
            RestartSec: '2',
          },
          Install: { WantedBy: 'multi-user.target' },
        }),
      },
      {
        path: '/etc/systemd/system/ringforge-proxy.service',
        content: systemdUnit({
          Unit: {
            Description: 'RingForge origin proxy (TLS, Authenticated Origin Pulls)',
            After: ['docker.service', 'ringforge-hub.service'],
            Requires: 'docker.service',
            // nginx cannot check Cloudflare's certificate without these (secrets runbook).
            ConditionPathExists: [
              `${TLS_DIR}/origin.crt`,
              `${TLS_DIR}/origin.key`,
              `${TLS_DIR}/${ORIGIN_PULL_CA_FILE}`,
            ],
          },
          Service: {
            ExecStartPre: network,
            ExecStart: proxy,
            ExecStop: '/usr/bin/docker stop hub-proxy',
            Restart: 'always',
            RestartSec: '2',
          },
          Install: { WantedBy: 'multi-user.target' },
        }),
      },
    ],
    runcmd: [
      ['install', '-d', '-m', '0700', '/etc/ringforge/secrets', TLS_DIR],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', 'ringforge-hub', 'ringforge-proxy'],
    ],
  };
}

export interface PostgresNodeProps {
  readonly privateIp: string;
  /** Private address of the primary; equal to privateIp on the primary itself. */
  readonly primaryIp: string;
  /** Subnet allowed to connect (hubs, replica). */
  readonly subnet: string;
  readonly backup: BackupTarget;
}

const SPOOL = '/var/lib/postgresql/wal-spool';

const aptInstall = (...packages: string[]) => [
  'sh',
  '-c',
  `DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`,
];

/**
 * Postgres from Debian, its data on the server's volume. The primary archives WAL (shipped with
 * barman-cloud); a replica clones the primary with pg_basebackup once its replication password
 * has been provisioned, then streams from it.
 */
export function postgresNodeCloudConfig(p: PostgresNodeProps): CloudConfig[] {
  const primary = p.privateIp === p.primaryIp;
  const settings = [
    `listen_addresses = 'localhost,${p.privateIp}'`,
    'wal_level = replica',
    'max_wal_senders = 10',
    'hot_standby = on',
    'archive_mode = on',
    `archive_command = 'test ! -f ${SPOOL}/%f && cp %p ${SPOOL}/%f'`,
    `archive_timeout = ${p.backup.archiveTimeoutSeconds}`,
    "password_encryption = 'scram-sha-256'",
  ];
  const hba = [
    `host ringforge ringforge ${p.subnet} scram-sha-256`,
    `host replication replicator ${p.subnet} scram-sha-256`,
  ];
  const clone = [
    '#!/bin/sh',
    '# Replaces the empty local cluster with a clone of the primary, once.',
    'set -eu',
    `dir=${debianPostgresPaths.data}`,
    '[ -f "$dir/standby.signal" ] && exit 0',
    'systemctl stop postgresql',
    'rm -rf "$dir"',
    `runuser -u postgres -- env PGPASSFILE=/etc/ringforge/secrets/pgpass pg_basebackup -h ${p.primaryIp} -U replicator -D "$dir" -R -X stream`,
    'systemctl start postgresql',
    '',
  ].join('\n');
  const node: CloudConfig = {
    writeFiles: [
      { path: '/etc/ringforge/postgresql.conf', content: `${settings.join('\n')}\n` },
      { path: '/etc/ringforge/pg_hba.conf', content: `${hba.join('\n')}\n` },
      ...(primary
        ? []
        : [
            { path: '/usr/local/bin/ringforge-pg-clone', content: clone, permissions: '0755' },
            {
              path: '/etc/systemd/system/ringforge-pg-clone.service',
              content: systemdUnit({
                Unit: { Description: 'Clone the Postgres primary' },
                Service: { Type: 'oneshot', ExecStart: '/usr/local/bin/ringforge-pg-clone' },
              }),
            },
            {
              path: '/etc/systemd/system/ringforge-pg-clone.path',
              content: systemdUnit({
                Unit: { Description: 'Clone the primary when the replication password arrives' },
                Path: { PathExists: '/etc/ringforge/secrets/pgpass', Unit: 'ringforge-pg-clone.service' },
                Install: { WantedBy: 'multi-user.target' },
              }),
            },
          ]),
    ],
    runcmd: [
      bindDataVolume('/var/lib/postgresql'),
      // Debian's package of the one Postgres major of every tier (constructs/postgres-version.ts).
      aptInstall(`postgresql-${POSTGRES_MAJOR}`),
      ['cp', '/etc/ringforge/postgresql.conf', `${debianPostgresPaths.config}/conf.d/ringforge.conf`],
      ['sh', '-c', `cat /etc/ringforge/pg_hba.conf >> ${debianPostgresPaths.config}/pg_hba.conf`],
      ['install', '-d', '-m', '0700', '/etc/ringforge/secrets'],
      ['systemctl', 'restart', 'postgresql'],
      ...(primary
        ? []
        : [
            ['systemctl', 'daemon-reload'],
            ['systemctl', 'enable', '--now', 'ringforge-pg-clone.path'],
          ]),
    ],
  };
  return [
    node,
    walShipping({
      spoolDir: SPOOL,
      spoolOwner: 'postgres:postgres',
      backup: p.backup,
      pgHost: '/var/run/postgresql',
      pgPort: 5432,
      pgUser: 'postgres',
      runAs: 'postgres',
    }),
  ];
}

/**
 * Valkey's Debian-packaged ancestor, redis-server, on the volume; replicas follow the first node at
 * first boot, and after that whichever node the sentinels promote (they rewrite `replicaof` in the
 * config file, which therefore is the server's own, not an include).
 */
export function valkeyNodeCloudConfig(p: { readonly privateIp: string; readonly primaryIp: string }): CloudConfig {
  const conf = [
    `bind 127.0.0.1 ${p.privateIp}`,
    'protected-mode no',
    'appendonly yes',
    'dir /var/lib/redis',
    'include /etc/ringforge/secrets/redis-auth.conf',
    ...(p.privateIp === p.primaryIp ? [] : [`replicaof ${p.primaryIp} 6379`]),
  ];
  return {
    runcmd: [
      bindDataVolume('/var/lib/redis'),
      aptInstall('redis-server'),
      ['sh', '-c', `printf '%s\\n' ${conf.map((line) => `'${line}'`).join(' ')} >> /etc/redis/redis.conf`],
      ['install', '-d', '-m', '0750', '-o', 'redis', '-g', 'redis', '/etc/ringforge/secrets'],
      ['systemctl', 'restart', 'redis-server'],
    ],
  };
}

/**
 * A Valkey sentinel (Debian's redis-sentinel) on a private address. Tier 1 runs one on each Valkey
 * server and, while there are fewer than three of those, one on the first Postgres server: with the
 * default two Valkey servers that is three sentinels, quorum 2, and losing any one server leaves a
 * majority that may authorize the failover. Its config file is written when the password
 * arrives (the unit waits for the file) and then belongs to the sentinel, which rewrites it as it
 * learns the group.
 */
export function sentinelCloudConfig(p: {
  readonly privateIp: string;
  readonly primaryIp: string;
  /** Sentinels that must agree the primary is down: a majority of them. */
  readonly quorum: number;
}): CloudConfig {
  const configure = [
    '#!/bin/sh',
    '# Writes the sentinel config once, from the password file; after that the sentinel owns it.',
    'set -eu',
    `grep -q '^sentinel monitor ${SENTINEL_MASTER} ' /etc/redis/sentinel.conf 2>/dev/null && exit 0`,
    `password=$(cat ${REDIS_PASSWORD_FILE})`,
    'umask 027',
    '{',
    `  echo "port ${SENTINEL_PORT}"`,
    `  echo "bind 127.0.0.1 ${p.privateIp}"`,
    '  echo "dir /var/lib/redis"',
    '  echo "requirepass $password"',
    '  echo "sentinel sentinel-pass $password"',
    `  echo "sentinel monitor ${SENTINEL_MASTER} ${p.primaryIp} 6379 ${p.quorum}"`,
    `  echo "sentinel auth-pass ${SENTINEL_MASTER} $password"`,
    `  echo "sentinel down-after-milliseconds ${SENTINEL_MASTER} 5000"`,
    `  echo "sentinel failover-timeout ${SENTINEL_MASTER} 10000"`,
    `  echo "sentinel parallel-syncs ${SENTINEL_MASTER} 1"`,
    '} > /etc/redis/sentinel.conf',
    'chown redis:redis /etc/redis/sentinel.conf',
  ];
  return {
    writeFiles: [
      { path: '/usr/local/sbin/ringforge-sentinel-config', permissions: '0755', content: `${configure.join('\n')}\n` },
      {
        path: '/etc/systemd/system/redis-sentinel.service.d/ringforge.conf',
        content: systemdUnit({
          Unit: { ConditionPathExists: REDIS_PASSWORD_FILE },
          // As root (+): it reads the root-only password file.
          Service: { ExecStartPre: '+/usr/local/sbin/ringforge-sentinel-config' },
        }),
      },
      {
        // The password's arrival (secrets runbook) starts the sentinel.
        path: '/etc/systemd/system/ringforge-sentinel.path',
        content: systemdUnit({
          Path: { PathExists: REDIS_PASSWORD_FILE, Unit: 'redis-sentinel.service' },
          Install: { WantedBy: 'multi-user.target' },
        }),
      },
    ],
    runcmd: [
      aptInstall('redis-sentinel'),
      ['install', '-d', '-m', '0700', '/etc/ringforge/secrets'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'ringforge-sentinel.path'],
      ['systemctl', 'restart', 'redis-sentinel'],
    ],
  };
}

/** Ports of the exporters on each server's private address. */
export const EXPORTER_PORTS = { node: 9100, postgres: 9187, valkey: 9121 } as const;
/** Alertmanager's receiver credentials on the monitoring server: `<dir>/<secret>/<key>` (secrets runbook). */
export const TIER1_ALERTMANAGER_SECRETS_DIR = '/etc/prometheus/secrets';
const STAGED = '/etc/ringforge/monitoring';

/** Debian's units read their flags from /etc/default/<package>, copied there after the install (not a conffile prompt). */
const defaultsFile = (args: readonly string[]) => `ARGS="${args.join(' ')}"\n`;

/** Debian's node exporter on every tier 1 server, on its private address, reading the backup job's textfile. */
export function nodeExporterCloudConfig(p: { readonly privateIp: string }): CloudConfig {
  return {
    writeFiles: [
      {
        path: `${STAGED}/default-node-exporter`,
        content: defaultsFile([
          `--web.listen-address=${p.privateIp}:${EXPORTER_PORTS.node}`,
          `--collector.textfile.directory=${NODE_EXPORTER_TEXTFILE_DIR}`,
        ]),
      },
    ],
    runcmd: [
      aptInstall('prometheus-node-exporter'),
      ['install', '-d', '-m', '0755', NODE_EXPORTER_TEXTFILE_DIR],
      ['cp', `${STAGED}/default-node-exporter`, '/etc/default/prometheus-node-exporter'],
      ['systemctl', 'restart', 'prometheus-node-exporter'],
    ],
  };
}

/**
 * Debian's Postgres exporter on a Postgres server's private address. It connects over the local
 * socket as the `prometheus` role (peer authentication, no password), a member of pg_monitor that the
 * primary creates and its standbys replicate.
 */
export function postgresExporterCloudConfig(p: { readonly privateIp: string; readonly primary: boolean }): CloudConfig {
  const createRole =
    'DO $$ BEGIN CREATE ROLE prometheus LOGIN IN ROLE pg_monitor; EXCEPTION WHEN duplicate_object THEN NULL; END $$';
  return {
    writeFiles: [
      { path: `${STAGED}/postgres-exporter-queries.yaml`, content: POSTGRES_EXPORTER_QUERIES },
      {
        path: `${STAGED}/default-postgres-exporter`,
        content:
          "DATA_SOURCE_NAME='user=prometheus host=/run/postgresql dbname=postgres'\n" +
          defaultsFile([
            `--web.listen-address=${p.privateIp}:${EXPORTER_PORTS.postgres}`,
            `--extend.query-path=${STAGED}/postgres-exporter-queries.yaml`,
          ]),
      },
    ],
    runcmd: [
      aptInstall('prometheus-postgres-exporter'),
      ...(p.primary ? [['runuser', '-u', 'postgres', '--', 'psql', '-c', createRole]] : []),
      ['cp', `${STAGED}/default-postgres-exporter`, '/etc/default/prometheus-postgres-exporter'],
      ['systemctl', 'restart', 'prometheus-postgres-exporter'],
    ],
  };
}

/**
 * Debian's Redis exporter on a Valkey server's private address, for the local server. It gets the
 * password as REDIS_PASSWORD from a file under /run that root writes from the secret before each
 * start (never on a command line); the password's arrival starts it, as it does the sentinel.
 */
export function valkeyExporterCloudConfig(p: { readonly privateIp: string }): CloudConfig {
  const envFile = '/run/ringforge-redis-exporter/env';
  const writeEnv = [
    '#!/bin/sh',
    '# The exporter reads the Valkey password from its environment; only its user can read this copy.',
    'set -eu',
    'umask 077',
    `install -d -m 0700 -o prometheus -g prometheus ${envFile.slice(0, envFile.lastIndexOf('/'))}`,
    `printf 'REDIS_PASSWORD=%s\\n' "$(cat ${REDIS_PASSWORD_FILE})" > ${envFile}`,
    `chown prometheus:prometheus ${envFile}`,
    '',
  ].join('\n');
  return {
    writeFiles: [
      {
        path: `${STAGED}/default-redis-exporter`,
        content: defaultsFile([
          `--web.listen-address=${p.privateIp}:${EXPORTER_PORTS.valkey}`,
          '--redis.addr=redis://127.0.0.1:6379',
        ]),
      },
      { path: '/usr/local/sbin/ringforge-redis-exporter-env', permissions: '0755', content: writeEnv },
      {
        path: '/etc/systemd/system/prometheus-redis-exporter.service.d/ringforge.conf',
        content: systemdUnit({
          Unit: { ConditionPathExists: REDIS_PASSWORD_FILE },
          // As root (+): it reads the root-only password file. Environment files are read as each command starts.
          Service: { ExecStartPre: '+/usr/local/sbin/ringforge-redis-exporter-env', EnvironmentFile: `-${envFile}` },
        }),
      },
      {
        path: '/etc/systemd/system/ringforge-redis-exporter.path',
        content: systemdUnit({
          Path: { PathExists: REDIS_PASSWORD_FILE, Unit: 'prometheus-redis-exporter.service' },
          Install: { WantedBy: 'multi-user.target' },
        }),
      },
    ],
    runcmd: [
      aptInstall('prometheus-redis-exporter'),
      ['cp', `${STAGED}/default-redis-exporter`, '/etc/default/prometheus-redis-exporter'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'ringforge-redis-exporter.path'],
      ['systemctl', 'restart', 'prometheus-redis-exporter'],
    ],
  };
}

/**
 * Debian's Prometheus and Alertmanager on one server (the first Postgres server), both on its
 * loopback only: operators reach them over SSH. The same rules and routing as tiers 2-3; Prometheus
 * keeps PROMETHEUS_RETENTION.
 */
export function monitoringServerCloudConfig(p: {
  readonly monitoring: ServerMonitoring;
  readonly targets: ScrapeTargets;
}): CloudConfig {
  p.monitoring.alerting.receivers.forEach((r, i) => {
    if (r.type === 'webhook') {
      throw new Error(
        `alerting.receivers.${i}.type: a webhook receiver (${r.name}) needs Alertmanager 0.26 or later to read its URL ` +
          `from a file; tier 1 runs Debian bookworm's 0.25 (use slack, email or pagerduty)`,
      );
    }
  });
  const files = {
    'prometheus.yml': renderPrometheusConfig(p.monitoring, {
      targets: { ...p.targets, prometheus: ['127.0.0.1:9090'], alertmanager: ['127.0.0.1:9093'] },
      alertmanager: '127.0.0.1:9093',
      ruleFile: '/etc/prometheus/ringforge-rules.yaml',
    }),
    'ringforge-rules.yaml': serverRuleFile(p.monitoring),
    'alertmanager.yml': renderServerAlertmanagerConfig(p.monitoring, TIER1_ALERTMANAGER_SECRETS_DIR),
  };
  return {
    writeFiles: [
      ...Object.entries(files).map(([file, content]) => ({ path: `${STAGED}/${file}`, content })),
      {
        path: `${STAGED}/default-prometheus`,
        content: defaultsFile([
          '--web.listen-address=127.0.0.1:9090',
          `--storage.tsdb.retention.time=${PROMETHEUS_RETENTION}`,
        ]),
      },
      {
        path: `${STAGED}/default-alertmanager`,
        // One Alertmanager: no cluster port.
        content: defaultsFile(['--web.listen-address=127.0.0.1:9093', '--cluster.listen-address=']),
      },
    ],
    runcmd: [
      aptInstall('prometheus', 'prometheus-alertmanager'),
      ...Object.keys(files).map((file) => ['install', '-m', '0644', `${STAGED}/${file}`, `/etc/prometheus/${file}`]),
      ['install', '-d', '-m', '0700', '-o', 'prometheus', '-g', 'prometheus', TIER1_ALERTMANAGER_SECRETS_DIR],
      ['cp', `${STAGED}/default-prometheus`, '/etc/default/prometheus'],
      ['cp', `${STAGED}/default-alertmanager`, '/etc/default/prometheus-alertmanager'],
      ['systemctl', 'restart', 'prometheus', 'prometheus-alertmanager'],
    ],
  };
}
