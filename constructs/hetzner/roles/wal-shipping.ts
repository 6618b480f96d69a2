import { BACKUP_METRICS, NODE_EXPORTER_TEXTFILE_DIR } from '../../monitoring/servers.ts';
import type { CloudConfig } from '../cloud-config.ts';
import { systemdUnit } from './systemd.ts';

/** Where and how often a server's Postgres is backed up (from the environment's `backup`). */
export interface BackupTarget {
  readonly bucket: string;
  /** S3 endpoint of the object storage. */
  readonly endpoint: string;
  /** barman server name: the folder under the bucket. */
  readonly serverName: string;
  /** Five-field cron schedule of base backups. */
  readonly schedule: string;
  readonly retentionDays: number;
  readonly archiveTimeoutSeconds: number;
}

export interface WalShippingProps {
  readonly backup: BackupTarget;
  /** Directory Postgres' archive_command copies finished WAL segments into. */
  readonly spoolDir: string;
  /** Owner (`user:group` or uid:gid) of the spool: the user Postgres runs as. */
  readonly spoolOwner: string;
  /**
   * How often the spool is drained; bounds the RPO together with archive_timeout.
   * @default 10
   */
  readonly intervalSeconds?: number;
  /** libpq connection for base backups (password, if any, from PGPASSWORD in backup.env). */
  readonly pgHost: string;
  readonly pgPort: number;
  readonly pgUser: string;
  /**
   * System user the shipping and backup jobs run as; needs to own the spool.
   * @default 'root'
   */
  readonly runAs?: string;
}

const BACKUP_METRIC_SCRIPT = '/usr/local/sbin/ringforge-backup-metric';

/**
 * Run by systemd after each base backup (ExecStopPost, as root): records when the backup last
 * succeeded or failed in a node exporter textfile, which the backup alerts read. The file is
 * replaced by a rename, so the exporter never reads half of it.
 */
export function backupMetricScript(textfileDir = NODE_EXPORTER_TEXTFILE_DIR): string {
  const metric = (name: string, variable: string, help: string) => [
    `if [ -n "$${variable}" ]; then`,
    `  echo '# HELP ${name} ${help}'`,
    `  echo '# TYPE ${name} gauge'`,
    `  echo "${name} $${variable}"`,
    'fi',
  ];
  return [
    '#!/bin/sh',
    'set -eu',
    `dir=${textfileDir}`,
    'file=$dir/ringforge_backup.prom',
    'previous() { sed -n "s/^$1 //p" "$file" 2>/dev/null || true; }',
    `success=$(previous ${BACKUP_METRICS.success})`,
    `failure=$(previous ${BACKUP_METRICS.failure})`,
    // systemd sets SERVICE_RESULT for ExecStopPost; no ${...} here: the script travels in Terraform strings.
    'result=$(printenv SERVICE_RESULT || true)',
    'case "$result" in',
    '  success) success=$(date +%s) ;;',
    '  *) failure=$(date +%s) ;;',
    'esac',
    'mkdir -p "$dir"',
    'tmp=$(mktemp "$dir/.ringforge_backup.XXXXXX")',
    '{',
    ...metric(BACKUP_METRICS.success, 'success', 'When the last base backup succeeded, in seconds since the epoch.'),
    ...metric(BACKUP_METRICS.failure, 'failure', 'When the last base backup failed, in seconds since the epoch.'),
    '} >"$tmp"',
    'chmod 0644 "$tmp"',
    'mv "$tmp" "$file"',
    '',
  ].join('\n');
}

/**
 * Ships WAL and base backups to object storage with barman-cloud from the host. Postgres only
 * copies each finished segment into a local spool (so archiving never depends on the network);
 * a timer uploads and removes spooled segments in order. Credentials come from
 * /etc/ringforge/secrets/backup.env, provisioned by the secrets runbook, never from user data.
 */
export function walShipping(p: WalShippingProps): CloudConfig {
  const common = `--endpoint-url ${p.backup.endpoint} s3://${p.backup.bucket} ${p.backup.serverName}`;
  const retention = `RECOVERY WINDOW OF ${p.backup.retentionDays} DAYS`;
  const ship = [
    '#!/bin/sh',
    '# Uploads spooled WAL segments oldest first; a segment is removed only after its upload succeeded.',
    'set -eu',
    `cd ${p.spoolDir}`,
    'for f in $(ls -1tr 2>/dev/null); do',
    `  barman-cloud-wal-archive ${common} "${p.spoolDir}/$f"`,
    '  rm -f -- "$f"',
    'done',
    '',
  ].join('\n');
  const service = (description: string, exec: string, after: Record<string, string> = {}) =>
    systemdUnit({
      Unit: { Description: description, ConditionPathExists: '/etc/ringforge/secrets/backup.env' },
      Service: {
        Type: 'oneshot',
        User: p.runAs ?? 'root',
        EnvironmentFile: '/etc/ringforge/secrets/backup.env',
        ExecStart: exec,
        ...after,
      },
    });
  const timer = (description: string, schedule: Record<string, string>) =>
    systemdUnit({
      Unit: { Description: description },
      Timer: { ...schedule, Persistent: 'true' },
      Install: { WantedBy: 'timers.target' },
    });

  return {
    packages: ['barman-cli-cloud'],
    writeFiles: [
      { path: '/usr/local/bin/ringforge-wal-ship', content: ship, permissions: '0755' },
      { path: BACKUP_METRIC_SCRIPT, content: backupMetricScript(), permissions: '0755' },
      {
        path: '/etc/systemd/system/ringforge-wal-ship.service',
        content: service('Ship spooled WAL to object storage', '/usr/local/bin/ringforge-wal-ship'),
      },
      {
        path: '/etc/systemd/system/ringforge-wal-ship.timer',
        content: timer('Ship WAL continuously', {
          OnBootSec: '30s',
          OnUnitActiveSec: `${p.intervalSeconds ?? 10}s`,
          AccuracySec: '1s',
        }),
      },
      {
        path: '/etc/systemd/system/ringforge-base-backup.service',
        content: service(
          'Base backup to object storage, then apply retention',
          `/bin/sh -c 'barman-cloud-backup --host ${p.pgHost} --port ${p.pgPort} --user ${p.pgUser} ${common} && barman-cloud-backup-delete --retention-policy "${retention}" ${common}'`,
          // As root (+), whoever the backup ran as: it writes the node exporter's directory.
          { ExecStopPost: `+${BACKUP_METRIC_SCRIPT}` },
        ),
      },
      {
        path: '/etc/systemd/system/ringforge-base-backup.timer',
        content: timer('Scheduled base backup', { OnCalendar: cronToOnCalendar(p.backup.schedule) }),
      },
    ],
    runcmd: [
      ['install', '-d', '-m', '0700', '-o', p.spoolOwner.split(':')[0]!, '-g', p.spoolOwner.split(':')[1]!, p.spoolDir],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'ringforge-wal-ship.timer', 'ringforge-base-backup.timer'],
    ],
  };
}

/** Converts a five-field cron expression into systemd OnCalendar syntax (numbers, `*`, lists, steps). */
export function cronToOnCalendar(cron: string): string {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`schedule must have five cron fields (got "${cron}")`);
  const [minute, hour, day, month, weekday] = fields as [string, string, string, string, string];
  const step = (f: string) => f.replace(/^\*\/(\d+)$/, '0/$1');
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const dow =
    weekday === '*'
      ? ''
      : `${weekday
          .split(',')
          .map((d) => days[Number(d) % 7] ?? d)
          .join(',')} `;
  return `${dow}*-${step(month)}-${step(day)} ${step(hour)}:${step(minute)}:00`;
}
