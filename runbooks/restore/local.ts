/*
 * The restore drill on this machine, nothing faked: Postgres archiving WAL with barman-cloud to a
 * versitygw S3 server, a base backup, a ledgered workload through a hub process, the disaster (the
 * server stopped dead and its data directory deleted), barman-cloud-restore plus WAL replay, a new
 * hub on the restored database, and the verification of every acknowledged write.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { $, type ProcessPromise } from 'zx';
import type { Environment } from '../../environments/index.ts';
import {
  asPostgresUser,
  chownToPostgres,
  startObjectStore,
  startPostgres,
  startRedis,
  startRestoredPostgres,
  type LocalPostgres,
} from '../../scripts/lib/local-services.ts';
import { HubClient } from '../../src/hub/client/client.ts';
import { limitsLifted } from '../../src/hub/config.ts';
import { archiveCommand, postgresTimestamp, restoreArgs, restoreCommand, type BarmanLocation } from '../lib/barman.ts';
import { measureSequentialRead, round, type DiskReadSpeed } from '../lib/disk.ts';
import { newAdminToken, provisionTenant, startHubProcess, waitReady, type HubProcess } from '../lib/hub-process.ts';
import { takeBaseBackup } from '../lib/local-backup.ts';
import { checkObjective, type ObjectiveResult, type Objectives } from '../lib/objectives.ts';
import { finishedDrillHeader, type DrillReportHeader } from '../lib/report.ts';
import { Timeline, type MarkRecord, type PhaseRecord, type Printer } from '../lib/timeline.ts';
import { bulkDigest, readRestoredRows, type BulkDigest } from '../lib/verification-sql.ts';
import { verifyRestore, type Verification } from '../lib/verify.ts';
import { startWorkload } from './workload.ts';

export interface LocalRestoreOptions {
  readonly env: Environment;
  readonly objectives: Objectives;
  /** Size of the bulk data loaded before the base backup, in MiB. */
  readonly sizeMiB: number;
  /** Seconds the workload keeps writing after the base backup, until the disaster. */
  readonly workloadSeconds: number;
  /** Point in time to restore to: an ISO timestamp, or `-<N>s` (N seconds before the disaster). @default latest */
  readonly targetTime?: string;
  /** Also stream WAL with pg_receivewal, so the restore can replay the segment in progress at the disaster. */
  readonly streamWal?: boolean;
  /** Measure the disk's sequential read speed after the drill. @default true */
  readonly measureDisk?: boolean;
  readonly print?: Printer;
}

export interface RestoreFigures {
  readonly rpoSeconds?: number;
  readonly rtoSeconds?: number;
  /** Seconds per recovery phase: fetch, replay, start, verify. */
  readonly phaseSeconds: Readonly<Record<string, number>>;
  readonly databaseBytes?: number;
  readonly baseBackupBytes?: number;
  readonly walSegmentsArchived?: number;
  /** Database size over (fetch + replay). */
  readonly restoreGbPerMinute?: number;
  /** Base backup bytes over the fetch phase. */
  readonly fetchGbPerMinute?: number;
  readonly diskRead?: DiskReadSpeed;
}

export interface RestoreReport extends DrillReportHeader<'restore', 'local'> {
  readonly settings: {
    readonly sizeMiB: number;
    readonly workloadSeconds: number;
    readonly archiveTimeoutSeconds: number;
    readonly streamWal: boolean;
    readonly recoveryTarget: string;
  };
  readonly objectives: Objectives;
  readonly results: readonly ObjectiveResult[];
  readonly figures: RestoreFigures;
  readonly backup?: { readonly id: string; readonly name?: string; readonly endTime?: string };
  readonly verification?: Verification & {
    readonly bulk: { readonly before: BulkDigest; readonly after: BulkDigest; readonly identical: boolean };
    readonly hubReadAndWrite: boolean;
  };
  readonly timeline: {
    readonly startMs: number;
    readonly phases: readonly PhaseRecord[];
    readonly marks: readonly MarkRecord[];
  };
}

/** Resolves `--target-time` against the moment of the disaster. */
export function resolveTargetTime(targetTime: string, disasterMs: number): number {
  const relative = /^-(\d+(?:\.\d+)?)s$/.exec(targetTime);
  if (relative) return disasterMs - Number(relative[1]) * 1000;
  const absolute = Date.parse(targetTime);
  if (!/^\d{4}-\d\d-\d\dT/.test(targetTime) || Number.isNaN(absolute)) {
    throw new Error(
      `--target-time must be an ISO timestamp (2025-01-31T12:00:00Z) or -<N>s before the disaster (got ${targetTime})`,
    );
  }
  return absolute;
}

const BULK_ROWS_PER_MIB = 7 * 128; // 1,000-byte rows, 7 to an 8 KiB page, 128 pages to a MiB

export async function runLocalRestoreDrill(options: LocalRestoreOptions, command = ''): Promise<RestoreReport> {
  const timeline = new Timeline('restore', options.print);
  const startedAt = new Date().toISOString();
  const failures: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const work = mkdtempSync(join(tmpdir(), 'rf-drill-restore-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
  // Postgres' restore_command and pg_receivewal run as the postgres user and reach into it.
  chownToPostgres(work);
  const streamWal = options.streamWal ?? false;
  const archiveTimeout = options.env.backup.archiveTimeoutSeconds;

  let backup: RestoreReport['backup'];
  let verification: RestoreReport['verification'];
  let bulkBefore: BulkDigest | undefined;
  let databaseBytes: number | undefined;
  let baseBackupBytes: number | undefined;
  let walSegments: number | undefined;
  let disasterMs: number | undefined;
  let readyMs: number | undefined;
  let targetTimeMs: number | undefined;

  try {
    const { redis, postgres, s3 } = await timeline.phase(
      'services',
      'start Postgres, Redis and the S3 server',
      async () => {
        const [s3, redis] = await Promise.all([startObjectStore({ bucket: options.env.backup.bucket }), startRedis()]);
        cleanups.push(
          () => s3.stop(),
          () => redis.stop(),
        );
        // Loaded at wal_level minimal: the bulk rows need no WAL, the way a database that exists
        // long before today's base backup has none in the archive either.
        const postgres = await startPostgres({
          onHost: true,
          fsync: true,
          settings: { wal_level: 'minimal', max_wal_senders: '0' },
        });
        cleanups.push(() => postgres.stop());
        return { redis, postgres, s3 };
      },
    );
    const credentials = {
      AWS_ACCESS_KEY_ID: s3.accessKey,
      AWS_SECRET_ACCESS_KEY: s3.secretKey,
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    const location: BarmanLocation = { endpoint: s3.endpoint, bucket: s3.bucket, serverName: options.env.name };
    const barman = $({ env: { ...process.env, ...credentials }, quiet: true });

    const databaseUrl = await postgres.createDatabase('hub');
    await timeline.phase(
      'load',
      `load ${options.sizeMiB} MiB of bulk data`,
      async () => {
        const db = new pg.Client({ connectionString: databaseUrl });
        await db.connect();
        try {
          await db.query('BEGIN');
          await db.query('CREATE TABLE drill_bulk (id bigint PRIMARY KEY, payload text NOT NULL)');
          await db.query(
            `INSERT INTO drill_bulk SELECT i, rpad(md5(i::text) || md5((i * 7919)::text), 1000, md5((i * 104729)::text))
             FROM generate_series(1, $1::bigint) AS i`,
            [options.sizeMiB * BULK_ROWS_PER_MIB],
          );
          await db.query('COMMIT');
          bulkBefore = await bulkDigest(db);
          const { rows } = await db.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
          databaseBytes = Number(rows[0]!.bytes);
        } finally {
          await db.end();
        }
      },
      { detail: () => `${bulkBefore!.rows} rows, database ${mib(databaseBytes!)} MiB` },
    );

    let streamer: ProcessPromise | undefined;
    const streamDir = join(work, 'streamed-wal');
    await timeline.phase('archiving', 'turn on WAL archiving with barman-cloud-wal-archive', async () => {
      await postgres.restart({
        settings: {
          wal_level: 'replica',
          max_wal_senders: '4',
          archive_mode: 'on',
          archive_command: archiveCommand(location),
          archive_timeout: `${archiveTimeout}s`,
        },
        env: credentials,
      });
      if (streamWal) {
        mkdirSync(streamDir);
        chownToPostgres(streamDir);
        const [bin, ...args] = asPostgresUser([
          'pg_receivewal',
          '-D',
          streamDir,
          '-h',
          '127.0.0.1',
          '-p',
          String(postgres.port),
          '-U',
          'postgres',
          '--no-loop',
          '--synchronous',
        ]);
        streamer = $({ quiet: true, nothrow: true })`${bin} ${args}`;
      }
    });

    const adminToken = newAdminToken();
    // A hub on the given database, killed at cleanup, once it answers /api/ready.
    const startReadyHub = async (name: string, url: string): Promise<HubProcess> => {
      const hub = await startHubProcess({ name, databaseUrl: url, redisUrl: redis.url, adminToken, env: hubLimits });
      cleanups.push(() => hub.signal('SIGKILL'));
      await waitReady(hub.httpUrl);
      return hub;
    };
    const firstHub = await timeline.phase('hub', 'start a hub on the database', () =>
      startReadyHub('drill-hub-1', databaseUrl),
    );
    const tenancy = await provisionTenant(firstHub.adminUrl, adminToken, `drill-${Date.now()}`);
    const workload = await startWorkload({ wsUrl: firstHub.wsUrl, apiKey: tenancy.apiKey, databaseUrl });
    cleanups.push(() => workload.stop());
    timeline.mark('workload', 'workload writing: DMs through the hub, a heartbeat row every 100 ms');

    backup = await timeline.phase(
      'backup',
      'base backup with barman-cloud-backup (workload running)',
      async () => {
        const name = `drill-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        const listed = await takeBaseBackup(barman, location, postgres.port, name);
        return { id: listed.backup_id, name: listed.backup_name, endTime: listed.end_time };
      },
      { detail: (b) => `backup ${b.id}` },
    );
    baseBackupBytes = await directoryBytes(join(s3.dataDir, s3.bucket, options.env.name, 'base'));

    await timeline.phase(
      'writes',
      `workload keeps writing for ${options.workloadSeconds} s`,
      () => new Promise((resolve) => setTimeout(resolve, options.workloadSeconds * 1000)),
      { detail: () => `${workload.ledger.size} writes acknowledged` },
    );

    // The disaster: the database server dies and its data directory is gone.
    disasterMs = Date.now();
    timeline.mark('disaster', 'DISASTER: Postgres stopped dead, data directory deleted', disasterMs);
    await postgres.destroy();
    await firstHub.signal('SIGKILL');
    await workload.stop();
    const streamed = await streamer;
    if (streamed !== undefined && readdirSync(streamDir).length === 0) {
      throw new Error(`pg_receivewal streamed no WAL: ${streamed.stderr.trim().split('\n')[0]}`);
    }
    if (options.targetTime !== undefined) {
      targetTimeMs = resolveTargetTime(options.targetTime, disasterMs);
      const backupEnd = backup.endTime === undefined ? undefined : Date.parse(backup.endTime);
      if (backupEnd !== undefined && targetTimeMs < backupEnd) {
        throw new Error(
          `--target-time ${new Date(targetTimeMs).toISOString()} is before the base backup ended (${backup.endTime}): no backup to restore from`,
        );
      }
      if (targetTimeMs > disasterMs)
        throw new Error(`--target-time ${new Date(targetTimeMs).toISOString()} is after the disaster`);
    }
    walSegments = await countFiles(join(s3.dataDir, s3.bucket, options.env.name, 'wals'));
    timeline.info(`${workload.ledger.size} writes acknowledged; ${walSegments} WAL files in the archive`);

    const restoredDir = join(work, 'restored');
    mkdirSync(restoredDir, { mode: 0o700 });
    chownToPostgres(restoredDir);
    await timeline.phase(
      'fetch',
      `fetch base backup ${backup.id} with barman-cloud-restore`,
      async () => {
        const [bin, ...args] = asPostgresUser(restoreArgs(location, backup!.id, restoredDir));
        await barman`${bin} ${args}`;
      },
      { recovery: true },
    );

    const recoveryTarget: Record<string, string> =
      targetTimeMs === undefined
        ? {}
        : { recovery_target_time: postgresTimestamp(targetTimeMs), recovery_target_action: 'promote' };
    const restored: LocalPostgres = await timeline.phase(
      'replay',
      `replay WAL to ${targetTimeMs === undefined ? 'the end of the archive' : new Date(targetTimeMs).toISOString()}`,
      async () => {
        const server = await startRestoredPostgres(restoredDir, {
          fsync: true,
          env: credentials,
          startTimeoutSeconds: Math.max(900, options.objectives.rtoSeconds * 2),
          settings: {
            restore_command: restoreCommand(location, streamWal ? streamDir : undefined),
            ...recoveryTarget,
            // The restored server is the new primary and archives again, on a new timeline.
            archive_command: archiveCommand(location),
          },
        });
        cleanups.push(() => server.stop());
        await waitForPromotion(server, restoredDir, Math.max(900, options.objectives.rtoSeconds * 2));
        return server;
      },
      { recovery: true },
    );
    const restoredUrl = restored.url.replace(/\/postgres$/, '/hub');

    const secondHub = await timeline.phase(
      'start',
      'start the hub on the restored database',
      async () => {
        return startReadyHub('drill-hub-2', restoredUrl);
      },
      { recovery: true },
    );

    verification = await timeline.phase(
      'verify',
      'verify acknowledged writes, bulk data, and a read and a write through the hub',
      async () => {
        const db = new pg.Client({ connectionString: restoredUrl });
        await db.connect();
        let rows, bulkAfter;
        try {
          rows = await readRestoredRows(db, workload.recipientId);
          bulkAfter = await bulkDigest(db);
        } finally {
          await db.end();
        }
        const hubReadAndWrite = await readAndWriteThroughHub(secondHub, tenancy.apiKey, workload.recipientId);
        readyMs = Date.now();
        const result = verifyRestore(workload.ledger, rows, targetTimeMs === undefined ? {} : { targetTimeMs });
        const identical = bulkAfter.rows === bulkBefore!.rows && bulkAfter.checksum === bulkBefore!.checksum;
        return { ...result, bulk: { before: bulkBefore!, after: bulkAfter, identical }, hubReadAndWrite };
      },
      {
        recovery: true,
        detail: (v) =>
          `${v.streams.reduce((s, x) => s + x.verified, 0)} acknowledged writes verified, ${v.lostAcknowledgedWrites} beyond the recovery point`,
      },
    );
    failures.push(...verification.failures);
    if (!verification.bulk.identical)
      failures.push('the bulk data differs from what was backed up (row count or checksum)');
    if (!verification.hubReadAndWrite)
      failures.push('the hub on the restored database did not serve a read and a write');
  } catch (error) {
    failures.push(`the drill stopped: ${(error as Error).message.split('\n')[0]}`);
    timeline.info(((error as Error).stack ?? String(error)).split('\n').slice(0, 12).join('\n'));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }

  const phaseSeconds = Object.fromEntries(timeline.phases.filter((p) => p.recovery).map((p) => [p.name, p.seconds]));
  const rtoSeconds =
    disasterMs !== undefined && readyMs !== undefined ? round((readyMs - disasterMs) / 1000, 3) : undefined;
  const rpoSeconds = verification?.rpoSeconds === undefined ? undefined : round(verification.rpoSeconds, 3);
  const restoreSeconds = (phaseSeconds.fetch ?? 0) + (phaseSeconds.replay ?? 0);
  const diskRead =
    options.measureDisk === false || databaseBytes === undefined
      ? undefined
      : await timeline.phase(
          'disk',
          'measure the disk’s sequential read speed',
          () => measureSequentialRead(tmpdir(), Math.min(2048, Math.max(64, Math.ceil(databaseBytes! / 2 ** 20)))),
          { detail: (d) => `${d.mbPerSecond} MB/s` },
        );
  const figures: RestoreFigures = {
    rpoSeconds,
    rtoSeconds,
    phaseSeconds,
    databaseBytes,
    baseBackupBytes,
    walSegmentsArchived: walSegments,
    restoreGbPerMinute:
      databaseBytes && restoreSeconds > 0 && verification
        ? round((databaseBytes / 1e9 / restoreSeconds) * 60, 2)
        : undefined,
    fetchGbPerMinute:
      baseBackupBytes && phaseSeconds.fetch ? round((baseBackupBytes / 1e9 / phaseSeconds.fetch) * 60, 2) : undefined,
    diskRead,
  };
  // A point-in-time restore loses what came after the target on purpose: its RPO is not an objective.
  const results = [
    ...(targetTimeMs === undefined ? [checkObjective('RPO', options.objectives.rpoSeconds, rpoSeconds)] : []),
    checkObjective('RTO', options.objectives.rtoSeconds, rtoSeconds),
  ];
  return {
    ...finishedDrillHeader(
      { drill: 'restore', target: 'local', environment: options.env.name, command, startedAt },
      failures,
      results,
    ),
    settings: {
      sizeMiB: options.sizeMiB,
      workloadSeconds: options.workloadSeconds,
      archiveTimeoutSeconds: archiveTimeout,
      streamWal,
      recoveryTarget: targetTimeMs === undefined ? 'latest' : new Date(targetTimeMs).toISOString(),
    },
    objectives: options.objectives,
    results,
    figures,
    ...(backup === undefined ? {} : { backup }),
    ...(verification === undefined ? {} : { verification }),
    timeline: { startMs: timeline.startMs, phases: timeline.phases, marks: timeline.marks },
  };
}

/** The drill's writes are not throttled: the per-agent rate limits protect a shared hub, not this one. */
const hubLimits = limitsLifted();

/** A read (the recipient fetches its first DM) and a write (a DM acknowledged) through the restored hub. */
async function readAndWriteThroughHub(hub: HubProcess, apiKey: string, recipientId: string): Promise<boolean> {
  const client = new HubClient({
    urls: [hub.wsUrl],
    apiKey,
    agent: { name: 'drill-recipient' },
    maxReconnectAttempts: 5,
  });
  try {
    const hello = await client.connect();
    if (hello.agentId !== recipientId) return false;
    const { messages } = await client.request<{ messages: unknown[] }>('dm.fetch', { afterSeq: 0, limit: 1 });
    const receipt = await client.request<{ seq: number }>('dm.send', {
      to: recipientId,
      body: { check: 'restored hub accepts writes' },
    });
    return messages.length === 1 && receipt.seq > 0;
  } finally {
    client.close();
  }
}

async function directoryBytes(dir: string): Promise<number | undefined> {
  const result = await $({ quiet: true, nothrow: true })`du -sb ${dir}`;
  return result.exitCode === 0 ? Number(result.stdout.split('\t')[0]) : undefined;
}

async function countFiles(dir: string): Promise<number | undefined> {
  const result = await $({ quiet: true, nothrow: true })`find ${dir} -type f`;
  return result.exitCode === 0 ? result.stdout.split('\n').filter((l) => l !== '').length : undefined;
}

/**
 * Waits until the restored server has replayed what it can and left recovery. A server that stops
 * instead (e.g. the target time lies beyond the WAL it could fetch) fails the drill with its reason.
 */
async function waitForPromotion(server: LocalPostgres, dataDir: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    if (!existsSync(join(dataDir, 'postmaster.pid'))) {
      const fatal =
        server.logFile === undefined
          ? []
          : readFileSync(server.logFile, 'utf8')
              .split('\n')
              .filter((l) => /FATAL/.test(l));
      throw new Error(
        `the restored Postgres stopped during recovery: ${fatal.at(-1)?.replace(/^.*FATAL:\s*/, '') ?? 'see its log'}`,
      );
    }
    const db = new pg.Client({ connectionString: server.url });
    try {
      await db.connect();
      const { rows } = await db.query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering');
      if (!rows[0]!.recovering) return;
    } catch {
      // Not accepting connections yet, or shutting down: the next round tells which.
    } finally {
      await db.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`the restored Postgres was still in recovery after ${timeoutSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
