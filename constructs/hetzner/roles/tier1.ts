import { debianPostgresPaths, POSTGRES_MAJOR } from '../../postgres-version.ts';
import { DEFAULT_HUB_ADMIN_PORT, hubListenerEnvironment } from '../../hub-listeners.ts';
import type { CloudConfig } from '../cloud-config.ts';
import { bindDataVolume } from './data-volume.ts';
import { systemdUnit } from './systemd.ts';
import { walShipping, type BackupTarget } from './wal-shipping.ts';

/*
 * cloud-init for the tier 1 roles. Services listen on the private network only; the public
 * firewall admits nothing but SSH from admin networks (and, for hubs, the load balancer reaches
 * them privately). Secrets come from /etc/ringforge/secrets, provisioned by the secrets runbook.
 */

export interface HubNodeProps {
  readonly hubImage: string;
  /** Public listener (WebSocket, health): the load balancer's destination port. */
  readonly hubPort: number;
  /**
   * Operations listener (`/metrics`, admin API), published on the private address only.
   * @default 9090
   */
  readonly hubAdminPort?: number;
  /**
   * Addresses or ranges the load balancer reaches the hub from, whose `X-Forwarded-For` the hub
   * believes: the load balancer's private address, or the private subnet it sits in.
   */
  readonly trustedProxies: readonly string[];
  readonly drainSeconds: number;
  readonly privateIp: string;
}

/**
 * A hub server (image DOCKER_IMAGE): the hub container as a systemd unit, both listeners published
 * on the private address only. The load balancer forwards to the public one; nothing on the
 * internet reaches either (the firewall admits SSH only, and the load balancer has no service for
 * the operations port).
 */
export function hubNodeCloudConfig(p: HubNodeProps): CloudConfig {
  const adminPort = p.hubAdminPort ?? DEFAULT_HUB_ADMIN_PORT;
  const environment = {
    ...hubListenerEnvironment({ port: p.hubPort, adminPort, trustedProxies: p.trustedProxies }),
    HUB_SHUTDOWN_GRACE_MS: String(p.drainSeconds * 1000),
  };
  const run = [
    '/usr/bin/docker run --rm --name hub',
    `--publish ${p.privateIp}:${p.hubPort}:${p.hubPort} --publish ${p.privateIp}:${adminPort}:${adminPort}`,
    '--read-only --tmpfs /tmp --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges:true',
    `--env-file /etc/ringforge/secrets/hub.env ${Object.entries(environment)
      .map(([key, value]) => `--env ${key}=${value}`)
      .join(' ')}`,
    `--stop-timeout ${p.drainSeconds + 5}`,
    p.hubImage,
  ].join(' ');
  return {
    writeFiles: [
      {
        path: '/etc/systemd/system/ringforge-hub.service',
        content: systemdUnit({
          Unit: {
            Description: 'RingForge hub',
            After: 'docker.service',
            Requires: 'docker.service',
            ConditionPathExists: '/etc/ringforge/secrets/hub.env',
          },
          Service: { ExecStart: run, ExecStop: '/usr/bin/docker stop hub', Restart: 'always', RestartSec: '2' },
          Install: { WantedBy: 'multi-user.target' },
        }),
      },
    ],
    runcmd: [
      ['install', '-d', '-m', '0700', '/etc/ringforge/secrets'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', 'ringforge-hub'],
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

/** Valkey's Debian-packaged ancestor, redis-server, on the volume; replicas follow the first node. */
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
    writeFiles: [{ path: '/etc/ringforge/redis.conf', content: `${conf.join('\n')}\n` }],
    runcmd: [
      bindDataVolume('/var/lib/redis'),
      aptInstall('redis-server'),
      ['sh', '-c', 'echo "include /etc/ringforge/redis.conf" >> /etc/redis/redis.conf'],
      ['install', '-d', '-m', '0750', '-o', 'redis', '-g', 'redis', '/etc/ringforge/secrets'],
      ['systemctl', 'restart', 'redis-server'],
    ],
  };
}
