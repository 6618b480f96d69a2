/*
 * The restore drill on a server tier (0-1), over SSH: the backups that the database server ships
 * with barman-cloud (constructs/hetzner/roles/wal-shipping.ts: `s3://<bucket>`, server name = the
 * environment's name, credentials in /etc/ringforge/secrets/backup.env) are restored into a scratch
 * Postgres instance on a host that has the postgresql and barman-cli-cloud packages (a tier 1
 * database server, or a scratch server for tier 0), verified against the live database, removed.
 */
import { quote } from 'zx';
import type { Environment } from '../../environments/index.ts';
import { POSTGRES_MAJOR } from '../../constructs/postgres-version.ts';
import { backupListArgs, postgresTimestamp, restoreArgs, restoreCommand, type BarmanLocation } from '../lib/barman.ts';
import { PSQL_QUERY_FLAGS, VERIFICATION_SQL, summarySql } from '../lib/verification-sql.ts';
import type { PlanStep } from './k8s.ts';

export const VM_SOURCE = {
  secretsFile: '/etc/ringforge/secrets/backup.env',
  binDir: `/usr/lib/postgresql/${POSTGRES_MAJOR}/bin`,
  database: 'ringforge',
  livePort: 5432,
  scratchPort: 5499,
} as const;

export interface VmRestorePlanOptions {
  readonly env: Environment;
  /** SSH destination of the host the scratch instance runs on, e.g. `root@10.0.1.3`. */
  readonly sshHost: string;
  readonly runId: string;
  readonly targetTime?: string;
}

export interface VmRestorePlan {
  readonly scratchDir: string;
  readonly steps: readonly PlanStep[];
}

/** Runs argv on the host: credentials from the secrets file, as the postgres user, quoted for the remote shell. */
function remote(
  host: string,
  argv: readonly string[],
  options: { credentials?: boolean; asPostgres?: boolean } = {},
): string[] {
  const asUser = options.asPostgres === false ? [...argv] : ['runuser', '-u', 'postgres', '--', ...argv];
  const withEnv = options.credentials
    ? ['sh', '-c', `set -a && . ${VM_SOURCE.secretsFile} && exec "$@"`, 'sh', ...asUser]
    : asUser;
  return ['ssh', '-o', 'BatchMode=yes', host, '--', withEnv.map((a) => quote(a)).join(' ')];
}

export function vmRestorePlan(options: VmRestorePlanOptions): VmRestorePlan {
  if (options.env.tier > 1)
    throw new Error(
      `the vm target is for tiers 0-1 (${options.env.name} is tier ${options.env.tier}): use --target k8s`,
    );
  const location: BarmanLocation = {
    endpoint: options.env.backup.endpoint,
    bucket: options.env.backup.bucket,
    serverName: options.env.name,
  };
  const dir = `/var/lib/postgresql/drill-${options.runId}`;
  const host = options.sshHost;
  const psql = (port: number, sql: string) =>
    remote(host, ['psql', '--port', String(port), '--dbname', VM_SOURCE.database, ...PSQL_QUERY_FLAGS, sql]);
  const settings = [
    `port = ${VM_SOURCE.scratchPort}`,
    "listen_addresses = 'localhost'",
    `restore_command = '${restoreCommand(location).replace(/'/g, "''")}'`,
    "archive_mode = 'off'",
    // pg_ctl --wait then returns only once recovery has ended and the instance is promoted.
    "hot_standby = 'off'",
    ...(options.targetTime === undefined
      ? []
      : [`recovery_target_time = '${postgresTimestamp(options.targetTime)}'`, "recovery_target_action = 'promote'"]),
  ];
  const cutoff = options.targetTime ?? '<recovery point: newest messages.created_at in the scratch instance>';
  return {
    scratchDir: dir,
    steps: [
      {
        name: 'list',
        description: 'list the base backups in the object store',
        command: remote(host, backupListArgs(location), { credentials: true }),
      },
      {
        name: 'prepare',
        description: 'create the scratch data directory',
        command: remote(host, ['install', '-d', '-m', '0700', '-o', 'postgres', '-g', 'postgres', dir], {
          asPostgres: false,
        }),
      },
      {
        name: 'fetch',
        description: 'fetch the newest base backup (id from the list step)',
        command: remote(host, restoreArgs(location, '<newest backup id>', dir), { credentials: true }),
      },
      {
        name: 'configure',
        description: 'recovery settings: WAL from the archive, a port of its own, no archiving',
        command: remote(host, [
          'sh',
          '-c',
          `printf '%s\\n' "$@" >> ${dir}/postgresql.auto.conf && touch ${dir}/recovery.signal`,
          'sh',
          ...settings,
        ]),
      },
      {
        name: 'replay',
        description: 'start the scratch instance: it replays WAL, then promotes',
        command: remote(
          host,
          [
            `${VM_SOURCE.binDir}/pg_ctl`,
            '--pgdata',
            dir,
            '--log',
            `${dir}/drill.log`,
            '--wait',
            '--timeout',
            String(options.env.drill.rtoSeconds),
            'start',
          ],
          { credentials: true },
        ),
      },
      {
        name: 'wait',
        description: 'poll until recovery has ended (RTO)',
        command: remote(host, [
          'psql',
          '--port',
          String(VM_SOURCE.scratchPort),
          '--tuples-only',
          '--no-align',
          '--command',
          'SELECT pg_is_in_recovery()',
        ]),
      },
      {
        name: 'recovery-point',
        description: 'read the recovery point from the restored data',
        command: psql(VM_SOURCE.scratchPort, VERIFICATION_SQL.recoveryPoint),
      },
      {
        name: 'verify-restored',
        description: 'summarize the restored data up to the recovery point',
        command: psql(VM_SOURCE.scratchPort, summarySql(cutoff)),
      },
      {
        name: 'verify-source',
        description: 'summarize the live database up to the same point; both must be equal',
        command: psql(VM_SOURCE.livePort, summarySql(cutoff)),
      },
      {
        name: 'stop',
        description: 'stop the scratch instance',
        command: remote(host, [`${VM_SOURCE.binDir}/pg_ctl`, '--pgdata', dir, '--mode', 'immediate', 'stop']),
      },
      {
        name: 'delete',
        description: 'delete the scratch data directory',
        command: remote(host, ['rm', '-rf', '--', dir], { asPostgres: false }),
      },
    ],
  };
}
