/*
 * barman-cloud command lines, the same tools CloudNativePG's Barman Cloud plugin and the tier 0/1
 * servers (constructs/hetzner/roles/wal-shipping.ts) use. Built as argument arrays for zx, or as the
 * one-line strings Postgres' archive_command and restore_command want, quoted with zx's `quote`.
 * Credentials never appear here: the tools read AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
 */
import { quote } from 'zx';

/** Where a server's base backups and WAL live: `s3://<bucket>[/<folder>]` + the barman server name. */
export interface BarmanLocation {
  readonly endpoint: string;
  readonly bucket: string;
  readonly folder?: string;
  readonly serverName: string;
  /**
   * A profile of the AWS shared credentials file (AWS_SHARED_CREDENTIALS_FILE), for a server that
   * reads one object store and writes another, each with its own keys.
   */
  readonly profile?: string;
}

export const destination = (l: BarmanLocation) => `s3://${l.bucket}${l.folder ? `/${l.folder}` : ''}`;

const endpointArgs = (l: BarmanLocation) => [
  '--endpoint-url',
  l.endpoint,
  ...(l.profile === undefined ? [] : ['--profile', l.profile]),
];

const common = (l: BarmanLocation) => [...endpointArgs(l), destination(l), l.serverName];

/** archive_command: uploads one finished WAL segment. */
export const archiveCommand = (l: BarmanLocation): string =>
  ['barman-cloud-wal-archive', ...common(l)].map(quote).join(' ') + ' %p';

/**
 * restore_command: the archive first; then, if WAL was also streamed (pg_receivewal), the streamed
 * copy of a segment the archiver had not uploaded yet, and finally the partial segment that was
 * being written at the disaster — that tail is what brings the RPO from archive_timeout to seconds.
 */
export function restoreCommand(l: BarmanLocation, streamedWalDir?: string): string {
  const fromArchive = ['barman-cloud-wal-restore', ...common(l)].map(quote).join(' ') + ' %f %p';
  if (streamedWalDir === undefined) return fromArchive;
  const dir = quote(streamedWalDir);
  return `${fromArchive} || cp ${dir}/%f %p || cp ${dir}/%f.partial %p`;
}

export const backupArgs = (
  l: BarmanLocation,
  pg: { host: string; port: number; user: string; dbname: string },
  name: string,
) => [
  'barman-cloud-backup',
  ...endpointArgs(l),
  '--host',
  pg.host,
  '--port',
  String(pg.port),
  '--user',
  pg.user,
  '--dbname',
  pg.dbname,
  '--name',
  name,
  '--immediate-checkpoint',
  destination(l),
  l.serverName,
];

export const backupListArgs = (l: BarmanLocation) => ['barman-cloud-backup-list', '--format', 'json', ...common(l)];

export const restoreArgs = (l: BarmanLocation, backupId: string, dataDir: string) => [
  'barman-cloud-restore',
  ...common(l),
  backupId,
  dataDir,
];

export interface BarmanBackup {
  readonly backup_id: string;
  readonly backup_name?: string;
  readonly end_time?: string;
  readonly status?: string;
}

/** The newest DONE backup from `barman-cloud-backup-list --format json`. */
export function latestBackup(listJson: string): BarmanBackup {
  const parsed = JSON.parse(listJson) as { backups_list?: BarmanBackup[] };
  const done = (parsed.backups_list ?? []).filter((b) => b.status === undefined || b.status === 'DONE');
  const latest = done.at(-1);
  if (latest === undefined) throw new Error('the object store holds no completed base backup to restore');
  return latest;
}

/** recovery_target_time wants Postgres' own timestamp format, not ISO 8601's `T` and `Z`. */
export const postgresTimestamp = (at: number | string) =>
  new Date(at).toISOString().replace('T', ' ').replace('Z', '+00');
