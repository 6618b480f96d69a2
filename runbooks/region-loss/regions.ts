/*
 * Two regions on loopback, each with what a tier 3 region has: its own object store (versitygw), its
 * own Postgres, its own Redis and its own hubs. Region 1 is the primary and archives WAL to its bucket
 * with barman-cloud. Region 2 is bootstrapped from region 1's base backup and stays a hot standby fed
 * from region 1's archive (restore_command) and by streaming replication (primary_conninfo), as a
 * CloudNativePG replica cluster is; once promoted it archives to its own bucket.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { $ } from 'zx';
import {
  asPostgresUser,
  chownToPostgres,
  startObjectStore,
  startPostgres,
  startRedis,
  startRestoredPostgres,
  type LocalObjectStore,
  type LocalPostgres,
  type LocalService,
} from '../../scripts/lib/local-services.ts';
import { limitsLifted } from '../../src/hub/config.ts';
import { archiveCommand, restoreArgs, restoreCommand, type BarmanLocation } from '../lib/barman.ts';
import { startHubProcess, type HubProcess } from '../lib/hub-process.ts';
import { takeBaseBackup } from '../lib/local-backup.ts';

export interface Region {
  readonly name: string;
  readonly objectStore: LocalObjectStore;
  /** Where this region's cluster archives: its own bucket, folder <env>, server name <region>. */
  readonly location: BarmanLocation;
  readonly postgres: LocalPostgres;
  /** The hub database's URL on this region's Postgres. */
  readonly databaseUrl: string;
  readonly redis: LocalService;
  readonly hubs: HubProcess[];
}

export interface RegionSettings {
  /** `<bucket>-<region>` for each region's bucket, `<folder>` inside it. */
  readonly bucketPrefix: string;
  readonly folder: string;
  readonly archiveTimeoutSeconds: number;
  /** Directory for the credentials file and region 2's data directory; the postgres user can read it. */
  readonly workDir: string;
  readonly hubsPerRegion: number;
  /** The admin token every hub shares; a secret, never printed. */
  readonly adminToken: string;
  /** Called with each thing started, so the drill stops it whatever happens. */
  readonly onCleanup: (cleanup: () => Promise<unknown>) => void;
}

/**
 * The AWS shared credentials file both regions' barman-cloud commands read: one profile per region,
 * so region 2's Postgres reads region 1's archive with region 1's keys and writes its own with its own.
 * It lives in the drill's private work directory (mode 0600) and never in a command line or a log.
 */
export function writeCredentialsFile(workDir: string, stores: Readonly<Record<string, LocalObjectStore>>): string {
  const path = join(workDir, 'object-store-credentials');
  const profiles = Object.entries(stores).map(
    ([region, s]) => `[${region}]\naws_access_key_id = ${s.accessKey}\naws_secret_access_key = ${s.secretKey}\n`,
  );
  writeFileSync(path, profiles.join('\n'), { mode: 0o600 });
  chownToPostgres(path);
  return path;
}

/*
 * One attempt per barman-cloud call: Postgres retries a failed archive_command or restore_command
 * itself. botocore's own retries (about 7 s against a refused connection) would hold up the
 * promotion, which fetches timeline history files from the lost region's archive first.
 */
export const barmanEnvironment = (credentialsFile: string) => ({
  AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_MAX_ATTEMPTS: '1',
});

export async function startObjectStoreFor(region: string, settings: RegionSettings): Promise<LocalObjectStore> {
  const store = await startObjectStore({ bucket: `${settings.bucketPrefix}-${region}` });
  settings.onCleanup(() => store.stop());
  return store;
}

export const locationOf = (region: string, store: LocalObjectStore, folder: string): BarmanLocation => ({
  endpoint: store.endpoint,
  bucket: store.bucket,
  folder,
  serverName: region,
  profile: region,
});

/** Durable (fsync) settings every region's Postgres shares: WAL for replicas, archiving to `location`. */
const walSettings = (location: BarmanLocation, archiveTimeoutSeconds: number) => ({
  wal_level: 'replica',
  max_wal_senders: '10',
  // The standby catches up from here when it falls behind, before it needs the archive.
  wal_keep_size: '256MB',
  hot_standby: 'on',
  archive_mode: 'on',
  archive_command: archiveCommand(location),
  archive_timeout: `${archiveTimeoutSeconds}s`,
});

/** Region 1: Postgres archiving to its own bucket, its Redis; hubs come with startHubs. */
export async function startPrimaryRegion(
  name: string,
  objectStore: LocalObjectStore,
  credentialsFile: string,
  settings: RegionSettings,
): Promise<Omit<Region, 'hubs'>> {
  const location = locationOf(name, objectStore, settings.folder);
  const [postgres, redis] = await Promise.all([
    startPostgres({
      onHost: true,
      fsync: true,
      settings: walSettings(location, settings.archiveTimeoutSeconds),
      env: barmanEnvironment(credentialsFile),
    }),
    startRedis(),
  ]);
  settings.onCleanup(() => postgres.stop());
  settings.onCleanup(() => redis.stop());
  const databaseUrl = await postgres.createDatabase('hub');
  return { name, objectStore, location, postgres, databaseUrl, redis };
}

/** Takes a base backup of the primary into its own bucket with barman-cloud-backup; resolves with its id. */
export async function baseBackup(primary: Omit<Region, 'hubs'>, credentialsFile: string): Promise<string> {
  const barman = $({ env: { ...process.env, ...barmanEnvironment(credentialsFile) }, quiet: true });
  const backup = await takeBaseBackup(barman, primary.location, primary.postgres.port, `${primary.name}-bootstrap`);
  return backup.backup_id;
}

/**
 * Region 2: restores region 1's base backup from region 1's bucket and starts it as a hot standby
 * (standby.signal) that replays region 1's archive and streams from region 1's Postgres. It archives
 * to its own bucket once promoted (archive_mode on: a standby does not archive).
 */
export async function startStandbyRegion(
  name: string,
  objectStore: LocalObjectStore,
  primary: Omit<Region, 'hubs'>,
  backupId: string,
  credentialsFile: string,
  settings: RegionSettings,
): Promise<Omit<Region, 'hubs'>> {
  const location = locationOf(name, objectStore, settings.folder);
  const env = barmanEnvironment(credentialsFile);
  const dataDir = join(settings.workDir, `${name}-data`);
  mkdirSync(dataDir, { mode: 0o700 });
  chownToPostgres(dataDir);
  const [bin, ...args] = asPostgresUser(restoreArgs(primary.location, backupId, dataDir));
  await $({ env: { ...process.env, ...env }, quiet: true })`${bin} ${args}`;
  writeFileSync(join(dataDir, 'standby.signal'), '');
  chownToPostgres(join(dataDir, 'standby.signal'));
  const [postgres, redis] = await Promise.all([
    startRestoredPostgres(dataDir, {
      recovery: false,
      fsync: true,
      env,
      settings: {
        ...walSettings(location, settings.archiveTimeoutSeconds),
        restore_command: restoreCommand(primary.location),
        primary_conninfo: `host=127.0.0.1 port=${primary.postgres.port} user=postgres application_name=${name}`,
        recovery_target_timeline: 'latest',
      },
    }),
    startRedis(),
  ]);
  settings.onCleanup(() => postgres.stop());
  settings.onCleanup(() => redis.stop());
  return { name, objectStore, location, postgres, databaseUrl: postgres.url.replace(/\/postgres$/, '/hub'), redis };
}

/**
 * Starts the region's hubs at once; on a standby they listen but are not ready. Hubs coming back
 * after a loss take the ports of the ones they replace, so the load balancer checks them again.
 */
export async function startHubs(
  region: Omit<Region, 'hubs'>,
  settings: RegionSettings,
  replacing: readonly HubProcess[] = [],
): Promise<Region> {
  const hubs = await Promise.all(
    Array.from({ length: settings.hubsPerRegion }, async (_, i) => {
      const old = replacing[i];
      const hub = await startHubProcess({
        name: `${region.name}-hub-${i + 1}${old === undefined ? '' : '-returned'}`,
        databaseUrl: region.databaseUrl,
        redisUrl: region.redis.url,
        adminToken: settings.adminToken,
        env: {
          ...limitsLifted(),
          ...(old === undefined ? {} : { HUB_PORT: String(old.port), HUB_ADMIN_PORT: new URL(old.adminUrl).port }),
        },
      });
      settings.onCleanup(() => hub.signal('SIGKILL'));
      return hub;
    }),
  );
  return { ...region, hubs };
}

/** Resolves once the primary reports the standby streaming (pg_stat_replication). */
export async function waitStreaming(primary: Region, standbyName: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const db = new pg.Client({ connectionString: primary.postgres.url });
  await db.connect();
  try {
    for (;;) {
      const { rows } = await db.query<{ state: string }>(
        'SELECT state FROM pg_stat_replication WHERE application_name = $1',
        [standbyName],
      );
      if (rows[0]?.state === 'streaming') return;
      if (Date.now() > deadline)
        throw new Error(`${standbyName} was not streaming from ${primary.name} within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await db.end();
  }
}

/** WAL files the standby replayed from region 1's archive, read from its log. */
export function segmentsRestoredFromArchive(standby: Region): number {
  if (standby.postgres.logFile === undefined) return 0;
  return readFileSync(standby.postgres.logFile, 'utf8')
    .split('\n')
    .filter((l) => /restored log file ".+" from archive/.test(l)).length;
}

/**
 * The region disappears at once: its Postgres (postmaster and every backend, walsender included)
 * and hubs get SIGKILL, its Redis stops, and its object store goes away with its bucket.
 */
export async function loseRegion(region: Region): Promise<void> {
  const postmaster = Number(readFileSync(join(region.postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = (await $({ quiet: true, nothrow: true })`ps -o pid= --ppid ${postmaster}`).stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((pid) => pid > 0);
  for (const pid of [postmaster, ...children]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await Promise.all([
    ...region.hubs.map((hub) => hub.signal('SIGKILL')),
    region.redis.stop(),
    region.objectStore.stop(),
  ]);
}

/**
 * The lost region comes back fenced, as the runbook brings it back: its Postgres restarts from the
 * data directory it died with, but as a standby (standby.signal), so it takes no writes; a new Redis
 * and its hubs on their old ports, which find the database in recovery and stay not ready.
 */
export async function returnFenced(lost: Region, settings: RegionSettings): Promise<Region> {
  await lost.postgres.restart({ standby: true });
  const redis = await startRedis();
  settings.onCleanup(() => redis.stop());
  return startHubs({ ...lost, redis }, settings, lost.hubs);
}

/** Whether a Postgres is in recovery and refuses a write. */
export async function refusesWrites(postgres: LocalPostgres): Promise<{ inRecovery: boolean; writeRefused: boolean }> {
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  try {
    const { rows } = await db.query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering');
    const writeRefused = await db.query('CREATE TABLE region_loss_fence_check (n int)').then(
      () => false,
      (error: Error) => /read-only transaction/.test(error.message),
    );
    return { inRecovery: rows[0]!.recovering, writeRefused };
  } finally {
    await db.end();
  }
}

/** `pg_promote()` on the standby, waiting until it accepts writes; resolves with the last commit it replayed. */
export async function promote(standby: Region): Promise<{ lastReplayedCommit?: string }> {
  const db = new pg.Client({ connectionString: standby.postgres.url });
  await db.connect();
  try {
    const { rows } = await db.query<{ at: Date | null }>('SELECT pg_last_xact_replay_timestamp() AS at');
    const promoted = await db.query<{ ok: boolean }>('SELECT pg_promote(true, 60) AS ok');
    if (promoted.rows[0]?.ok !== true) throw new Error(`${standby.name}'s Postgres did not promote within 60 s`);
    return rows[0]?.at ? { lastReplayedCommit: rows[0].at.toISOString() } : {};
  } finally {
    await db.end();
  }
}
