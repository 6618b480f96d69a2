/*
 * The failover drill on this machine: three hub processes on one Postgres and Redis behind HAProxy,
 * agents sending DMs and broadcasts through it; one hub gets SIGTERM (a rolling restart), then
 * another gets SIGKILL (a crashed node). Measured: requests that failed for the application,
 * reconnect times, and acknowledged DMs that never reached their recipient.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Environment } from '../../environments/index.ts';
import { startPostgres, startRedis } from '../../scripts/lib/local-services.ts';
import { limitsLifted } from '../../src/hub/config.ts';
import { round } from '../lib/disk.ts';
import { newAdminToken, provisionTenant, startHubProcess, waitReady, type HubProcess } from '../lib/hub-process.ts';
import { checkObjective, type Objectives } from '../lib/objectives.ts';
import { finishedDrillHeader } from '../lib/report.ts';
import { Timeline, type Printer } from '../lib/timeline.ts';
import { startHaproxy } from './haproxy.ts';
import { AgentLoad, worstReconnectP99Seconds } from './load.ts';
import type { FailoverReport } from './report.ts';

export interface LocalFailoverOptions {
  readonly env: Environment;
  readonly objectives: Objectives;
  /** @default 3 */
  readonly hubs?: number;
  /** @default 6 */
  readonly agents?: number;
  /** Seconds of load before, between and after the two failures. @default 5 */
  readonly stepSeconds?: number;
  readonly print?: Printer;
}

export type FailoverEvent = 'steady' | 'sigterm' | 'sigkill';

// The percentile is part of this module's interface from before the load moved to load.ts.
export { percentile } from './load.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLocalFailoverDrill(options: LocalFailoverOptions, command = ''): Promise<FailoverReport> {
  const timeline = new Timeline('failover', options.print);
  const startedAt = new Date().toISOString();
  const hubCount = options.hubs ?? 3;
  const agentCount = options.agents ?? 6;
  const step = (options.stepSeconds ?? 5) * 1000;
  const failures: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const work = mkdtempSync(join(tmpdir(), 'rf-drill-failover-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));

  const hubExitCodes: Record<string, number | null> = {};
  const hubs: HubProcess[] = [];
  let load: AgentLoad<FailoverEvent> | undefined;

  try {
    const { postgres, redis } = await timeline.phase('services', 'start Postgres and Redis', async () => {
      const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
      cleanups.push(
        () => postgres.stop(),
        () => redis.stop(),
      );
      return { postgres, redis };
    });
    const adminToken = newAdminToken();
    const lb = await timeline.phase('hubs', `start ${hubCount} hubs behind HAProxy`, async () => {
      for (let i = 1; i <= hubCount; i++) {
        const hub = await startHubProcess({
          name: `failover-hub-${i}`,
          databaseUrl: postgres.url,
          redisUrl: redis.url,
          adminToken,
          // A drain delay lets HAProxy's health check see "not ready" before sessions are closed.
          env: { ...limitsLifted(), HUB_DRAIN_DELAY_MS: '1000', HUB_SHUTDOWN_GRACE_MS: '15000' },
        });
        hubs.push(hub);
        cleanups.push(() => hub.signal('SIGKILL'));
        await waitReady(hub.httpUrl);
      }
      const lb = await startHaproxy(
        work,
        hubs.map((h) => h.port),
      );
      cleanups.push(() => lb.stop());
      return lb;
    });

    const tenancy = await provisionTenant(hubs[0]!.adminUrl, adminToken, `failover-${Date.now()}`);
    load = new AgentLoad<FailoverEvent>({
      urls: [lb.wsUrl],
      apiKey: tenancy.apiKey,
      agents: agentCount,
      intervalMs: 50,
      events: ['steady', 'sigterm', 'sigkill'],
      namePrefix: 'failover-agent',
    });
    await timeline.phase('agents', `connect ${agentCount} agents through the load balancer`, () => load!.connect());
    load.start();

    await timeline.phase('steady', 'steady load', () => sleep(step));
    load.event = 'sigterm';
    timeline.mark('sigterm', `SIGTERM ${hubs[0]!.name} (graceful drain)`);
    await timeline.phase(
      'drain',
      `${hubs[0]!.name} drains and exits`,
      async () => (hubExitCodes[hubs[0]!.name] = await hubs[0]!.signal('SIGTERM')),
      { detail: (code) => `exit ${code}` },
    );
    await timeline.phase('after-sigterm', 'load on the remaining hubs', () => sleep(step));
    load.event = 'sigkill';
    timeline.mark('sigkill', `SIGKILL ${hubs[1]!.name} (crash)`);
    hubExitCodes[hubs[1]!.name] = await hubs[1]!.signal('SIGKILL');
    await timeline.phase('after-sigkill', 'load on the last hub', () => sleep(step));
    await timeline.phase('settle', 'stop sending, wait for every acknowledged DM to arrive', () => load!.stop());
  } catch (error) {
    failures.push(`the drill stopped: ${(error as Error).message.split('\n')[0]}`);
    // What was acknowledged before the stop is still counted once it had its time to arrive, so lost means lost.
    await load?.stop().catch(() => undefined);
  } finally {
    load?.close();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }

  const events = load?.figures() ?? [];
  const figure = (e: FailoverEvent) => events.find((f) => f.event === e);
  const lost = { sigterm: figure('sigterm')?.dmsLost ?? 0, sigkill: figure('sigkill')?.dmsLost ?? 0 };
  if (lost.sigterm > 0) failures.push(`${lost.sigterm} acknowledged DMs were lost across the SIGTERM (must be 0)`);
  if (lost.sigkill > 0)
    failures.push(
      `${lost.sigkill} acknowledged DMs were lost across the SIGKILL (DMs are stored before they are acknowledged)`,
    );
  if (!figure('sigterm')?.dmsAcknowledged || !figure('sigkill')?.dmsAcknowledged)
    failures.push('no DM was acknowledged after a failure: the remaining hubs did not serve');
  if (hubExitCodes[`failover-hub-1`] !== undefined && hubExitCodes['failover-hub-1'] !== 0) {
    failures.push(
      `failover-hub-1 exited ${hubExitCodes['failover-hub-1']} after SIGTERM (expected 0 within the grace period)`,
    );
  }
  // Agents reconnecting is the failover's recovery: its p99 answers to the RTO objective.
  const results = [
    checkObjective(
      'RTO',
      options.objectives.rtoSeconds,
      failures.length > 0 && !load?.dmsAcknowledged ? undefined : round(worstReconnectP99Seconds(events), 3),
    ),
  ];
  return {
    ...finishedDrillHeader(
      { drill: 'failover', target: 'local', environment: options.env.name, command, startedAt },
      failures,
      results,
    ),
    settings: {
      hubs: hubCount,
      agents: agentCount,
      stepSeconds: step / 1000,
      loadBalancer: 'HAProxy (Debian), health check GET /api/ready every 500 ms',
    },
    objectives: options.objectives,
    rtoMeasures: 'worst reconnect p99',
    results,
    events,
    hubExitCodes,
    disrupted: {},
    notes: [
      'SIGTERM: the hub reports not ready, waits HUB_DRAIN_DELAY_MS so HAProxy stops routing to it, answers the requests it already has, closes sessions with 1012; agents reconnect through HAProxy to another hub and resume their DMs from the last seq they processed.',
      'SIGKILL: requests in flight on the killed hub get no reply; the client retries them with the same idempotency key on another hub, so each takes effect once. Acknowledged DMs are not lost: the hub stores a DM in Postgres before it acknowledges it.',
      'What SIGKILL does lose: broadcasts (activity) are fanned out over Redis pub/sub at most once, so agents that were disconnected at that moment miss them (counted as missed broadcast deliveries); the killed hub’s presence entries stay until their TTL (HUB_PRESENCE_TTL_MS) runs out; DM acknowledgements still batched in the client are sent again, and the redelivered DMs are dropped by seq.',
    ],
    timeline: { startMs: timeline.startMs, phases: timeline.phases, marks: timeline.marks },
  };
}
