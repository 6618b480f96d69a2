import { isIP } from 'node:net';
import { stringify } from 'yaml';
import { COMPOSE_POSTGRES_IMAGE } from '../../postgres-version.ts';
import { DEFAULT_HUB_ADMIN_PORT, HUB_HEALTH_PATHS, hubListenerEnvironment } from '../../hub-listeners.ts';
import {
  NODE_EXPORTER_TEXTFILE_DIR,
  POSTGRES_EXPORTER_QUERIES,
  PROMETHEUS_RETENTION,
  renderPrometheusConfig,
  renderServerAlertmanagerConfig,
  serverRuleFile,
  type ServerMonitoring,
} from '../../monitoring/servers.ts';
import type { CloudConfig } from '../cloud-config.ts';
import { bindDataVolume } from './data-volume.ts';
import { systemdUnit } from './systemd.ts';
import { walShipping, type BackupTarget } from './wal-shipping.ts';

/** Images of the tier 0 stack besides the hub; pinned tags of the public images. */
export const SINGLE_NODE_IMAGES = {
  // The one Postgres major of every tier (constructs/postgres-version.ts).
  postgres: COMPOSE_POSTGRES_IMAGE,
  valkey: 'docker.io/valkey/valkey:8.0.2-bookworm',
  proxy: 'docker.io/library/nginx:1.27.3-bookworm',
  prometheus: 'docker.io/prom/prometheus:v3.16.0',
  alertmanager: 'docker.io/prom/alertmanager:v0.35.0',
  nodeExporter: 'docker.io/prom/node-exporter:v1.9.1',
  postgresExporter: 'quay.io/prometheuscommunity/postgres-exporter:v0.17.1',
  valkeyExporter: 'docker.io/oliver006/redis_exporter:v1.74.0',
} as const;

export interface SingleNodeProps {
  /** Hub image reference pinned by digest, `repository@sha256:...`. */
  readonly hubImage: string;
  /** Public hostname the proxy answers for. */
  readonly hostname: string;
  /** Port of the hub's public listener (WebSocket, health) inside its container; nginx proxies to it. */
  readonly hubPort: number;
  /**
   * Port of the hub's operations listener (`/metrics`, admin API), published on the host's loopback
   * only, for the operator over SSH.
   * @default 9090
   */
  readonly hubAdminPort?: number;
  /**
   * Path agents open their WebSocket on; nginx proxies it and the health paths, nothing else.
   * @default '/ws'
   */
  readonly websocketPath?: string;
  /**
   * IPv4 range of the compose network. nginx reaches the hub from an address in it, so the hub
   * believes `X-Forwarded-For` from this range (and from nothing else).
   * @default '172.30.0.0/24'
   */
  readonly networkCidr?: string;
  /** Seconds the hub gets to drain on stop. */
  readonly drainSeconds: number;
  /** Backups of the node's Postgres. */
  readonly backup: BackupTarget;
  /** The environment's rules and alert routing, for the stack's Prometheus and Alertmanager. */
  readonly monitoring: ServerMonitoring;
  /**
   * Images of the other services.
   * @default SINGLE_NODE_IMAGES
   */
  readonly images?: Partial<Record<keyof typeof SINGLE_NODE_IMAGES, string>>;
  /**
   * Directory holding certificates, secrets and data on the host.
   * @default '/etc/ringforge' for config and secrets, '/mnt/data' for data
   */
  readonly dataDir?: string;
}

const RUNTIME_USER = '10001:10001';
const DEFAULT_NETWORK_CIDR = '172.30.0.0/24';

/** Where cloud-init writes the monitoring configuration (renderMonitoringFiles); the compose file mounts it. */
export const MONITORING_DIR = '/etc/ringforge/monitoring';
/** Prometheus and Alertmanager on the host's loopback, for the operator over SSH (the hub's operations port has 9090). */
export const MONITORING_PORTS = { prometheus: 9091, alertmanager: 9093 } as const;
/** Alertmanager's receiver credentials, one file per Secret key: `<dir>/<secret>/<key>` (secrets runbook). */
export const ALERTMANAGER_SECRETS_DIR = '/etc/ringforge/secrets/alertmanager';
/** The upstream Prometheus images run as nobody. */
const MONITORING_USER = '65534:65534';

/** The monitoring configuration files by name: Prometheus's, its rules, Alertmanager's, the Postgres exporter's queries. */
export function renderMonitoringFiles(p: Pick<SingleNodeProps, 'hubPort' | 'hubAdminPort' | 'monitoring'>) {
  const adminPort = p.hubAdminPort ?? DEFAULT_HUB_ADMIN_PORT;
  return {
    'prometheus.yml': renderPrometheusConfig(p.monitoring, {
      targets: {
        hub: [`hub:${adminPort}`],
        postgres: ['postgres-exporter:9187'],
        valkey: ['valkey-exporter:9121'],
        node: ['node-exporter:9100'],
        prometheus: ['localhost:9090'],
        alertmanager: ['alertmanager:9093'],
      },
      alertmanager: 'alertmanager:9093',
      ruleFile: '/etc/prometheus/rules.yaml',
    }),
    'rules.yaml': serverRuleFile(p.monitoring),
    'alertmanager.yml': renderServerAlertmanagerConfig(p.monitoring, '/etc/alertmanager/secrets'),
    'postgres-exporter-queries.yaml': POSTGRES_EXPORTER_QUERIES,
  };
}

/**
 * Prometheus, Alertmanager and the exporters of the compose stack. Only Prometheus and Alertmanager
 * publish ports, on the host's loopback; the exporters are reached over the compose network. The
 * node exporter reads the host's /proc, /sys and root read-only, and the backup job's textfile.
 */
function monitoringServices(images: Record<keyof typeof SINGLE_NODE_IMAGES, string>, data: string) {
  const config = (file: string, at: string) => `${MONITORING_DIR}/${file}:${at}:ro`;
  const hardened = { restart: 'unless-stopped', user: MONITORING_USER, read_only: true, cap_drop: ['ALL'] };
  return {
    prometheus: {
      ...hardened,
      image: images.prometheus,
      command: [
        '--config.file=/etc/prometheus/prometheus.yml',
        '--storage.tsdb.path=/prometheus',
        `--storage.tsdb.retention.time=${PROMETHEUS_RETENTION}`,
      ],
      volumes: [
        config('prometheus.yml', '/etc/prometheus/prometheus.yml'),
        config('rules.yaml', '/etc/prometheus/rules.yaml'),
        `${data}/prometheus:/prometheus`,
      ],
      ports: [`127.0.0.1:${MONITORING_PORTS.prometheus}:9090`],
    },
    alertmanager: {
      ...hardened,
      image: images.alertmanager,
      // One Alertmanager: no cluster port.
      command: [
        '--config.file=/etc/alertmanager/alertmanager.yml',
        '--storage.path=/alertmanager',
        '--cluster.listen-address=',
      ],
      volumes: [
        config('alertmanager.yml', '/etc/alertmanager/alertmanager.yml'),
        `${ALERTMANAGER_SECRETS_DIR}:/etc/alertmanager/secrets:ro`,
        `${data}/alertmanager:/alertmanager`,
      ],
      ports: [`127.0.0.1:${MONITORING_PORTS.alertmanager}:9093`],
    },
    'node-exporter': {
      ...hardened,
      image: images.nodeExporter,
      command: [
        '--path.procfs=/host/proc',
        '--path.sysfs=/host/sys',
        '--path.rootfs=/host/root',
        `--collector.textfile.directory=${NODE_EXPORTER_TEXTFILE_DIR}`,
      ],
      volumes: [
        '/proc:/host/proc:ro',
        '/sys:/host/sys:ro',
        '/:/host/root:ro',
        `${NODE_EXPORTER_TEXTFILE_DIR}:${NODE_EXPORTER_TEXTFILE_DIR}:ro`,
      ],
    },
    'postgres-exporter': {
      ...hardened,
      image: images.postgresExporter,
      command: ['--extend.query-path=/etc/postgres-exporter/queries.yaml'],
      // DATA_SOURCE_NAME, with the Postgres password (secrets runbook).
      env_file: ['/etc/ringforge/secrets/postgres-exporter.env'],
      volumes: [config('postgres-exporter-queries.yaml', '/etc/postgres-exporter/queries.yaml')],
      depends_on: { postgres: { condition: 'service_healthy' } },
    },
    'valkey-exporter': {
      ...hardened,
      image: images.valkeyExporter,
      environment: { REDIS_ADDR: 'redis://valkey:6379' },
      depends_on: { valkey: { condition: 'service_healthy' } },
    },
  };
}

/** The checked settings both files derive from; a mistake fails synth, naming the value. */
function resolve(p: Pick<SingleNodeProps, 'hubPort' | 'hubAdminPort' | 'websocketPath' | 'networkCidr'>) {
  const adminPort = p.hubAdminPort ?? DEFAULT_HUB_ADMIN_PORT;
  const websocketPath = p.websocketPath ?? '/ws';
  const networkCidr = p.networkCidr ?? DEFAULT_NETWORK_CIDR;
  if (!/^\/[A-Za-z0-9/_-]+$/.test(websocketPath)) {
    throw new Error(`websocketPath must be an absolute URL path (got ${websocketPath})`);
  }
  const [address = '', bits = ''] = networkCidr.split('/');
  if (isIP(address) !== 4 || !/^(\d|[12]\d|3[0-2])$/.test(bits)) {
    throw new Error(`networkCidr must be an IPv4 CIDR range (got ${networkCidr})`);
  }
  const environment = hubListenerEnvironment({ port: p.hubPort, adminPort, trustedProxies: [networkCidr] });
  return { adminPort, websocketPath, networkCidr, environment };
}

/**
 * The tier 0 docker compose file: the hub, Postgres, Valkey and an nginx that terminates TLS with
 * the Cloudflare origin certificate. Only nginx publishes ports to the internet; the hub's
 * operations port and Postgres are published on the host's loopback only. Secrets are read from
 * files under /etc/ringforge/secrets, which the secrets runbook provisions; none are in this file.
 */
export function renderCompose(p: SingleNodeProps): string {
  const { adminPort, networkCidr, environment } = resolve(p);
  const images = { ...SINGLE_NODE_IMAGES, ...p.images };
  const data = p.dataDir ?? '/mnt/data';
  const compose = {
    name: 'ringforge',
    services: {
      postgres: {
        image: images.postgres,
        restart: 'unless-stopped',
        environment: {
          POSTGRES_DB: 'ringforge',
          POSTGRES_USER: 'ringforge',
          POSTGRES_PASSWORD_FILE: '/run/secrets/postgres-password',
        },
        command: [
          'postgres',
          '-c',
          'wal_level=replica',
          '-c',
          'archive_mode=on',
          // Finished segments go to the host spool; the host ships them with barman-cloud.
          '-c',
          'archive_command=test ! -f /wal-spool/%f && cp %p /wal-spool/%f',
          '-c',
          `archive_timeout=${p.backup.archiveTimeoutSeconds}`,
          '-c',
          'max_wal_senders=4',
        ],
        volumes: [`${data}/postgres:/var/lib/postgresql/data`, `${data}/wal-spool:/wal-spool`],
        secrets: ['postgres-password'],
        // Base backups connect from the host, on loopback only.
        ports: ['127.0.0.1:5432:5432'],
        healthcheck: {
          test: ['CMD', 'pg_isready', '-U', 'ringforge', '-d', 'ringforge'],
          interval: '5s',
          timeout: '3s',
          retries: 10,
        },
      },
      valkey: {
        image: images.valkey,
        restart: 'unless-stopped',
        command: ['valkey-server', '--appendonly', 'yes', '--save', '60 1000', '--protected-mode', 'no'],
        volumes: [`${data}/valkey:/data`],
        healthcheck: { test: ['CMD', 'valkey-cli', 'ping'], interval: '5s', timeout: '3s', retries: 10 },
      },
      hub: {
        image: p.hubImage,
        restart: 'unless-stopped',
        user: RUNTIME_USER,
        read_only: true,
        tmpfs: ['/tmp'],
        cap_drop: ['ALL'],
        security_opt: ['no-new-privileges:true'],
        env_file: ['/etc/ringforge/secrets/hub.env'],
        environment: {
          ...environment,
          HUB_SHUTDOWN_GRACE_MS: String(p.drainSeconds * 1000),
          REDIS_URL: 'redis://valkey:6379',
        },
        // /metrics and the admin API, for the operator on the host (e.g. through an SSH tunnel).
        ports: [`127.0.0.1:${adminPort}:${adminPort}`],
        stop_grace_period: `${p.drainSeconds + 5}s`,
        depends_on: { postgres: { condition: 'service_healthy' }, valkey: { condition: 'service_healthy' } },
        healthcheck: {
          test: [
            'CMD',
            'node',
            '-e',
            `fetch('http://127.0.0.1:${p.hubPort}/api/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ],
          interval: '10s',
          timeout: '3s',
          retries: 3,
        },
      },
      proxy: {
        image: images.proxy,
        restart: 'unless-stopped',
        ports: ['80:8080', '443:8443'],
        volumes: ['/etc/ringforge/nginx.conf:/etc/nginx/nginx.conf:ro', '/etc/ringforge/secrets/tls:/etc/nginx/tls:ro'],
        tmpfs: ['/tmp', '/var/cache/nginx', '/var/run'],
        read_only: true,
        depends_on: { hub: { condition: 'service_healthy' } },
      },
      ...monitoringServices(images, data),
    },
    networks: { default: { ipam: { config: [{ subnet: networkCidr }] } } },
    secrets: { 'postgres-password': { file: '/etc/ringforge/secrets/postgres-password' } },
  };
  // YAML 1.1 quotes yes/no, which older compose implementations would read as booleans.
  return stringify(compose, { lineWidth: 0, version: '1.1' });
}

/** Where nginx listens inside its container; compose publishes 80 and 443 to these. */
export interface NginxListen {
  /** @default 8080 */
  readonly http: number;
  /** @default 8443 */
  readonly https: number;
}

/** The Cloudflare origin-pull CA nginx verifies clients against, beside the origin certificate. */
export const ORIGIN_PULL_CA_FILE = 'origin-pull-ca.pem';

/**
 * nginx in front of the hub: TLS with the origin certificate, and only the WebSocket path and the
 * health routes proxied to the hub's public port, each an exact match; every other path is a 404
 * from nginx itself. Only Cloudflare gets in: every request needs a client certificate signed by
 * Cloudflare's origin-pull CA (Authenticated Origin Pulls); a client without one, or with another,
 * gets nginx's 400 before any location is matched, so one that found the server's address never
 * reaches the hub. Because every request that reaches a location came
 * through Cloudflare, `CF-Connecting-IP` is the agent's address and goes to the hub as
 * `X-Forwarded-For`; without a verified certificate (never proxied) it would be the peer's.
 */
export function renderNginxConf(
  p: Pick<SingleNodeProps, 'hostname' | 'hubPort' | 'hubAdminPort' | 'websocketPath' | 'networkCidr'>,
  listen: NginxListen = { http: 8080, https: 8443 },
): string {
  const { websocketPath } = resolve(p);
  const location = (path: string, websocket: boolean) =>
    [
      `    location = ${path} {`,
      '      proxy_pass http://hub;',
      '      proxy_http_version 1.1;',
      ...(websocket
        ? ['      proxy_set_header Upgrade $http_upgrade;', '      proxy_set_header Connection $connection_upgrade;']
        : ['      proxy_set_header Connection "";']),
      '      proxy_set_header Host $host;',
      '      proxy_set_header X-Forwarded-For $client_address;',
      '      proxy_set_header X-Forwarded-Proto https;',
      ...(websocket
        ? [
            '      # Agents hold WebSockets for hours; heartbeats keep them under this.',
            '      proxy_read_timeout 3600s;',
            '      proxy_send_timeout 3600s;',
          ]
        : []),
      '    }',
      '',
    ].join('\n');
  const locations = [location(websocketPath, true), ...HUB_HEALTH_PATHS.map((path) => location(path, false))];
  return `worker_processes auto;
pid /tmp/nginx.pid;
events { worker_connections 16384; }
http {
  access_log /dev/stdout;
  error_log /dev/stderr warn;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  # Cloudflare's word for the agent's address counts only on a connection it authenticated.
  map $ssl_client_verify $client_address { SUCCESS $http_cf_connecting_ip; default $remote_addr; }
  upstream hub { server hub:${p.hubPort}; keepalive 64; }
  server {
    listen ${listen.http};
    server_name ${p.hostname};
    return 308 https://$host$request_uri;
  }
  server {
    listen ${listen.https} ssl;
    http2 on;
    server_name ${p.hostname};
    ssl_certificate /etc/nginx/tls/origin.crt;
    ssl_certificate_key /etc/nginx/tls/origin.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    # Authenticated Origin Pulls: without Cloudflare's client certificate a request gets a 400, never the hub.
    ssl_client_certificate /etc/nginx/tls/${ORIGIN_PULL_CA_FILE};
    ssl_verify_client on;
${locations.join('')}    # /metrics, the admin API and anything else stay off the internet.
    location / {
      return 404;
    }
  }
}
`;
}

/** Hetzner's Ubuntu image with Docker CE and the compose plugin preinstalled. */
export const DOCKER_IMAGE = 'docker-ce';

/** cloud-init for the tier 0 server (image DOCKER_IMAGE): the compose stack as a systemd unit, WAL shipping. */
export function singleNodeCloudConfig(p: SingleNodeProps): CloudConfig[] {
  const data = p.dataDir ?? '/mnt/data';
  const unit = systemdUnit({
    Unit: {
      Description: 'RingForge compose stack',
      After: ['docker.service', 'network-online.target'],
      Requires: 'docker.service',
      // Starts once the secrets runbook has provisioned the hub's environment.
      ConditionPathExists: '/etc/ringforge/secrets/hub.env',
    },
    Service: {
      Type: 'oneshot',
      RemainAfterExit: 'yes',
      WorkingDirectory: '/etc/ringforge',
      ExecStart: '/usr/bin/docker compose up -d --remove-orphans',
      ExecStop: '/usr/bin/docker compose down',
      TimeoutStopSec: String(p.drainSeconds + 30),
    },
    Install: { WantedBy: 'multi-user.target' },
  });
  const watch = systemdUnit({
    Unit: { Description: 'Start RingForge when its secrets arrive' },
    Path: { PathExists: '/etc/ringforge/secrets/hub.env', Unit: 'ringforge.service' },
    Install: { WantedBy: 'multi-user.target' },
  });
  return [
    {
      writeFiles: [
        { path: '/etc/ringforge/compose.yaml', content: renderCompose(p) },
        { path: '/etc/ringforge/nginx.conf', content: renderNginxConf(p) },
        ...Object.entries(renderMonitoringFiles(p)).map(([file, content]) => ({
          path: `${MONITORING_DIR}/${file}`,
          content,
        })),
        { path: '/etc/systemd/system/ringforge.service', content: unit },
        { path: '/etc/systemd/system/ringforge.path', content: watch },
      ],
      runcmd: [
        bindDataVolume(data),
        ['install', '-d', '-m', '0700', '/etc/ringforge/secrets'],
        ['install', '-d', '-m', '0700', '-o', '999', '-g', '999', `${data}/postgres`],
        ['install', '-d', '-m', '0700', '-o', '999', '-g', '999', `${data}/valkey`],
        ['install', '-d', '-m', '0700', '-o', '65534', '-g', '65534', `${data}/prometheus`, `${data}/alertmanager`],
        ['install', '-d', '-m', '0755', NODE_EXPORTER_TEXTFILE_DIR],
        ['systemctl', 'daemon-reload'],
        ['systemctl', 'enable', '--now', 'docker', 'ringforge.path'],
      ],
    },
    walShipping({
      spoolDir: `${data}/wal-spool`,
      // The official postgres image runs as uid 999.
      spoolOwner: '999:999',
      backup: p.backup,
      pgHost: '127.0.0.1',
      pgPort: 5432,
      pgUser: 'ringforge',
    }),
  ];
}
