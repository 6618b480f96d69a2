/*
 * The region-loss drill on this machine, nothing faked: two regions on loopback (regions.ts), HAProxy
 * in front of both hub pools standing in for the geo load balancer, agents under load and a ledger of
 * acknowledged writes. Region 1 disappears (SIGKILL, its bucket deleted), region 2 is promoted, its
 * hubs turn ready by themselves, and the drill measures what was lost and how long service was out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Environment } from '../../environments/index.ts';
import { chownToPostgres } from '../../scripts/lib/local-services.ts';
import { startHaproxy } from '../failover/haproxy.ts';
import { AgentLoad } from '../failover/load.ts';
import { round } from '../lib/disk.ts';
import { newAdminToken, provisionTenant, waitReady, type HubProcess } from '../lib/hub-process.ts';
import { checkObjective, type Objectives } from '../lib/objectives.ts';
import { finishedDrillHeader } from '../lib/report.ts';
import { Timeline, type Printer } from '../lib/timeline.ts';
import { readRestoredRows } from '../lib/verification-sql.ts';
import { verifyRestore, type Verification } from '../lib/verify.ts';
import { startWorkload, type Workload } from '../restore/workload.ts';
import {
  baseBackup,
  loseRegion,
  promote,
  refusesWrites,
  returnFenced,
  segmentsRestoredFromArchive,
  startHubs,
  startObjectStoreFor,
  startPrimaryRegion,
  startStandbyRegion,
  waitStreaming,
  writeCredentialsFile,
  type RegionSettings,
} from './regions.ts';
import type { RegionLossEvent, RegionLossFigures, RegionLossReport } from './report.ts';
import { FirstWriteProbe, isSegment, ReadinessWatch, waitForWalObject } from './watchers.ts';

export interface LocalRegionLossOptions {
  readonly env: Environment;
  readonly objectives: Objectives;
  /** Seconds of load before the loss. @default 10 */
  readonly loadSeconds?: number;
  /** archive_timeout of both regions. @default the environment's backup.archiveTimeoutSeconds */
  readonly archiveTimeoutSeconds?: number;
  /** @default 2 */
  readonly hubsPerRegion?: number;
  /** @default 4 */
  readonly agents?: number;
  readonly print?: Printer;
}

const REGIONS = ['region-1', 'region-2'] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const since = (fromMs: number, toMs: number) => round((toMs - fromMs) / 1000, 3);

export async function runLocalRegionLossDrill(
  options: LocalRegionLossOptions,
  command = '',
): Promise<RegionLossReport> {
  const timeline = new Timeline('region-loss', options.print);
  const startedAt = new Date().toISOString();
  const loadSeconds = options.loadSeconds ?? 10;
  const archiveTimeoutSeconds = options.archiveTimeoutSeconds ?? options.env.backup.archiveTimeoutSeconds;
  const hubsPerRegion = options.hubsPerRegion ?? 2;
  const agentCount = options.agents ?? 4;
  const failures: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const work = mkdtempSync(join(tmpdir(), 'rf-drill-region-loss-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
  // Region 2's data directory and the credentials file are the postgres user's.
  chownToPostgres(work);
  const settings: RegionSettings = {
    bucketPrefix: options.env.backup.bucket,
    folder: options.env.name,
    archiveTimeoutSeconds,
    workDir: work,
    hubsPerRegion,
    adminToken: newAdminToken(),
    onCleanup: (cleanup) => cleanups.push(cleanup),
  };

  const figures: { -readonly [K in keyof RegionLossFigures]: RegionLossFigures[K] } = {};
  let verification: Verification | undefined;
  let load: AgentLoad<RegionLossEvent> | undefined;
  let workload: Workload | undefined;
  let probe: FirstWriteProbe | undefined;
  let readiness: ReadinessWatch | undefined;

  try {
    const { primary, standby } = await timeline.phase(
      'regions',
      `start two regions: versitygw, Postgres, Redis and ${hubsPerRegion} hubs each; region 2 a standby of region 1`,
      async () => {
        const [store1, store2] = await Promise.all(REGIONS.map((r) => startObjectStoreFor(r, settings)));
        const credentials = writeCredentialsFile(work, { [REGIONS[0]]: store1!, [REGIONS[1]]: store2! });
        const region1 = await startPrimaryRegion(REGIONS[0], store1!, credentials, settings);
        const [primary, backupId] = await Promise.all([
          startHubs(region1, settings).then(async (r) => {
            await Promise.all(r.hubs.map((h) => waitReady(h.httpUrl)));
            return r;
          }),
          baseBackup(region1, credentials),
        ]);
        timeline.info(`base backup ${backupId} of ${primary.name} in its bucket ${primary.objectStore.bucket}`);
        const region2 = await startStandbyRegion(REGIONS[1], store2!, primary, backupId, credentials, settings);
        await waitStreaming(primary, region2.name);
        const standby = await startHubs(region2, settings);
        return { primary, standby };
      },
    );
    figures.walRestoredFromArchive = segmentsRestoredFromArchive(standby);
    figures.standbyHubsNotReady = await allNotReadyInRecovery(standby.hubs);
    timeline.info(
      `${standby.name} streams from ${primary.name} and replayed ${figures.walRestoredFromArchive} WAL files from its archive; ` +
        `its hubs ${figures.standbyHubsNotReady ? 'answer /api/ready 503 (database in recovery)' : 'are NOT reporting recovery'}`,
    );
    if (!figures.standbyHubsNotReady)
      failures.push(`${standby.name}'s hubs did not report not ready (503, database in recovery) on the standby`);

    const lb = await timeline.phase('lb', 'start HAProxy over both regions’ hubs, health-checked on /api/ready', () =>
      startHaproxy(
        work,
        [...primary.hubs, ...standby.hubs].map((h) => h.port),
      ).then(async (lb) => {
        cleanups.push(() => lb.stop());
        // HAProxy counts a server up until its first check; one failed check (fall 1, every 500 ms)
        // takes region 2's not-ready hubs out, so agents connecting after this reach region 1 only.
        await sleep(1500);
        return lb;
      }),
    );
    const lbHttp = `http://127.0.0.1:${lb.port}`;
    readiness = new ReadinessWatch(lbHttp);

    const tenancy = await provisionTenant(primary.hubs[0]!.adminUrl, settings.adminToken, `region-loss-${Date.now()}`);
    await timeline.phase('load', `connect ${agentCount} agents, the ledgered writer and the probe`, async () => {
      workload = await startWorkload({ wsUrl: lb.wsUrl, apiKey: tenancy.apiKey, databaseUrl: primary.databaseUrl });
      probe = await FirstWriteProbe.connect(lb.wsUrl, tenancy.apiKey);
      load = new AgentLoad<RegionLossEvent>({
        urls: [lb.wsUrl],
        apiKey: tenancy.apiKey,
        agents: agentCount,
        intervalMs: 50,
        events: ['steady', 'region-loss', 'return'],
        namePrefix: 'region-loss-agent',
        backoff: { initialMs: 50, maxMs: 500 },
        maxSeconds: loadSeconds + 300,
      });
      await load.connect();
      load.start();
    });
    await timeline.phase('steady', `steady load on ${primary.name} for ${loadSeconds} s`, () =>
      sleep(loadSeconds * 1000),
    );

    const disasterMs = Date.now();
    timeline.mark('loss', `REGION LOSS: ${primary.name}'s Postgres and hubs SIGKILLed, Redis stopped, bucket deleted`);
    await loseRegion(primary);
    // Only now: a DM the lost region acknowledged as it died may not have streamed, which is the
    // recovery point's loss (the ledger measures it), not a DM the promoted region failed to deliver.
    load!.event = 'region-loss';
    await workload!.stop();
    const firstWrite = probe!.firstAcknowledged(options.objectives.rtoSeconds * 1000 + 120_000);
    timeline.info(`${workload!.ledger.size} writes acknowledged in ${primary.name} (the ledger)`);

    await timeline.phase(
      'detect',
      'the load balancer finds no ready hub',
      async () => {
        const deadline = Date.now() + 30_000;
        while (readiness!.unreadyAfter(disasterMs) === undefined) {
          if (Date.now() > deadline)
            throw new Error('the load balancer still reported a ready hub 30 s after the loss');
          await sleep(50);
        }
      },
      { recovery: true },
    );
    figures.detectSeconds = since(disasterMs, Date.now());

    const promoteStartMs = Date.now();
    const promoted = await timeline.phase('promote', `promote ${standby.name}: pg_promote()`, () => promote(standby), {
      recovery: true,
    });
    const promotedMs = Date.now();
    figures.promoteSeconds = since(promoteStartMs, promotedMs);
    figures.lastReplayedCommit = promoted.lastReplayedCommit;

    const firstWriteMs = await timeline.phase(
      'serve',
      `${standby.name}'s hubs turn ready by themselves; first write acknowledged through the load balancer`,
      () => firstWrite,
      { recovery: true },
    );
    figures.rtoSeconds = since(disasterMs, firstWriteMs);
    // The first write can be acknowledged between two polls of the watcher: give it a few to see the
    // ready hub that acknowledged it.
    const seenReadyBy = Date.now() + 5_000;
    while (readiness.unreadyAfter(disasterMs)?.toMs === undefined && Date.now() < seenReadyBy) await sleep(50);
    const unready = readiness.unreadyAfter(disasterMs);
    if (unready?.toMs !== undefined) figures.unreadySeconds = since(unready.fromMs, unready.toMs);

    verification = await timeline.phase(
      'verify',
      `check every write acknowledged in ${primary.name} against ${standby.name}`,
      async () => {
        const db = new pg.Client({ connectionString: standby.databaseUrl });
        await db.connect();
        try {
          return verifyRestore(workload!.ledger, await readRestoredRows(db, workload!.recipientId));
        } finally {
          await db.end();
        }
      },
      { detail: (v) => `${v.lostAcknowledgedWrites} acknowledged writes lost beyond the recovery point` },
    );
    failures.push(...verification.failures);
    figures.rpoSeconds = verification.rpoSeconds === undefined ? undefined : round(verification.rpoSeconds, 3);
    figures.lostAcknowledgedWrites = verification.lostAcknowledgedWrites;

    await timeline.phase(
      'archive',
      `${standby.name} archives to its own bucket ${standby.objectStore.bucket}`,
      async () => {
        const wait = (archiveTimeoutSeconds + 30) * 1000;
        const first = await waitForWalObject(standby.objectStore, standby.location, () => true, wait);
        if (first !== undefined)
          figures.firstArchivedObject = { ...first, secondsAfterPromotion: since(promotedMs, first.seenAtMs) };
        const segment = await waitForWalObject(standby.objectStore, standby.location, newTimelineSegment, wait);
        if (segment !== undefined)
          figures.firstArchivedSegment = { ...segment, secondsAfterPromotion: since(promotedMs, segment.seenAtMs) };
      },
      {
        detail: () =>
          figures.firstArchivedSegment === undefined
            ? 'no WAL segment'
            : `${figures.firstArchivedSegment.key} after ${figures.firstArchivedSegment.secondsAfterPromotion} s`,
      },
    );
    if (figures.firstArchivedSegment === undefined)
      failures.push(
        `${standby.name} archived no WAL segment of its new timeline to ${standby.objectStore.bucket} within archive_timeout + 30 s`,
      );

    load!.event = 'return';
    const returned = await timeline.phase(
      'return',
      `${primary.name} comes back: its Postgres restarts as a standby, its hubs on their old ports`,
      () => returnFenced(primary, settings),
    );
    const database = await refusesWrites(returned.postgres);
    const hubsNotReady = await allNotReadyInRecovery(returned.hubs);
    // Long enough for HAProxy (rise 2, every 500 ms) to turn the returned hubs in, were they ready.
    await timeline.phase('fenced', `load with ${primary.name} back behind the load balancer`, () => sleep(3000));
    figures.oldPrimaryFenced = { ...database, hubsNotReady };
    if (!database.inRecovery || !database.writeRefused || !hubsNotReady)
      failures.push(
        `${primary.name} came back unfenced: in recovery ${database.inRecovery}, write refused ${database.writeRefused}, hubs not ready ${hubsNotReady}`,
      );

    await timeline.phase('settle', 'stop sending, wait for every acknowledged DM to arrive', () => load!.stop());
  } catch (error) {
    failures.push(`the drill stopped: ${(error as Error).message.split('\n')[0]}`);
    // What was acknowledged before the stop is still counted once it had its time to arrive, so lost means lost.
    await load?.stop().catch(() => undefined);
    timeline.info(((error as Error).stack ?? String(error)).split('\n').slice(0, 12).join('\n'));
  } finally {
    probe?.close();
    load?.close();
    await workload?.stop();
    await readiness?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }

  const events = load?.figures() ?? [];
  const afterLoss = events.find((e) => e.event === 'region-loss');
  if (afterLoss !== undefined && figures.rtoSeconds !== undefined) {
    if (afterLoss.dmsAcknowledged === 0) failures.push('no agent DM was acknowledged after the region loss');
    const lostAfter = events.filter((e) => e.event !== 'steady').reduce((sum, e) => sum + e.dmsLost, 0);
    if (lostAfter > 0)
      failures.push(`${lostAfter} DMs acknowledged after the region loss never reached their recipient`);
  }
  const results = [
    checkObjective('RPO', options.objectives.rpoSeconds, figures.rpoSeconds),
    checkObjective('RTO', options.objectives.rtoSeconds, figures.rtoSeconds),
  ];
  return {
    ...finishedDrillHeader(
      { drill: 'region-loss', target: 'local', environment: options.env.name, command, startedAt },
      failures,
      results,
    ),
    settings: {
      regions: REGIONS.map((name, i) => ({
        name,
        bucket: `${settings.bucketPrefix}-${name}`,
        role: i === 0 ? 'primary, lost' : 'standby, promoted',
      })),
      hubsPerRegion,
      agents: agentCount,
      loadSeconds,
      archiveTimeoutSeconds,
      replication:
        'asynchronous streaming (primary_conninfo) plus restore_command from region 1’s archive (barman-cloud-wal-restore)',
      redis: 'one per region: the hub keeps nothing in Redis that a DM needs, so each region runs its own, as deployed',
      loadBalancer: 'HAProxy (Debian) over both regions’ hubs, health check GET /api/ready every 500 ms',
    },
    objectives: options.objectives,
    results,
    figures,
    ...(verification === undefined ? {} : { verification }),
    events,
    notes: NOTES,
    timeline: { startMs: timeline.startMs, phases: timeline.phases, marks: timeline.marks },
  };
}

/** A segment of a timeline after the first: only the promoted server writes those. */
const newTimelineSegment = (key: string) => isSegment(key) && !/(^|\/)00000001[0-9A-F]{16}/.test(key);

/** Every hub answers /api/ready 503 with the database-in-recovery reason. */
async function allNotReadyInRecovery(hubs: readonly HubProcess[]): Promise<boolean> {
  const answers = await Promise.all(
    hubs.map(async (hub) => {
      // The first role check runs at start; give it a moment after the hub listens.
      for (let attempt = 0; attempt < 50; attempt++) {
        const response = await fetch(`${hub.httpUrl}/api/ready`);
        const body = (await response.json()) as { checks?: Record<string, string> };
        if (response.status === 503 && /recovery/.test(body.checks?.primary ?? '')) return true;
        await sleep(100);
      }
      return false;
    }),
  );
  return answers.every(Boolean);
}

const NOTES = [
  'RPO: the newest write acknowledged in the old region minus the newest of those the promoted region has; writes acknowledged after that point are counted as lost (asynchronous replication loses what was not yet streamed). Every write acknowledged before it must be there, unchanged, without gaps.',
  'RTO: from the loss to the first DM acknowledged through the load balancer by the promoted region. It includes the drill noticing the loss (the load balancer has no ready hub), pg_promote(), the hubs’ role check (HUB_STANDBY_POLL_MS) and migrations, and HAProxy’s health checks turning them in. In an incident the decision to promote takes longer than the drill’s.',
  'The ledger holds DMs to an offline recipient written through the load balancer and heartbeat rows written straight to region 1’s Postgres every 100 ms; it covers exactly what the old region acknowledged.',
  'The lost region comes back as the runbook brings it back: its Postgres restarts from the data directory it died with as a standby (it diverged from the promoted one and must be rebuilt or rewound before it replicates), its hubs on their old ports behind the load balancer. They find the database in recovery and stay not ready, so the load balancer keeps every agent on the promoted region.',
  'Agents’ DMs before the loss that region 2 never received were acknowledged by the old region and lost with it (beyond the recovery point); after the loss every acknowledged DM must arrive.',
];
