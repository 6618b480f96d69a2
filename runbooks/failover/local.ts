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
import { HubClient, HubRequestError } from '../../src/hub/client/client.ts';
import { round } from '../lib/disk.ts';
import { newAdminToken, provisionTenant, startHubProcess, waitReady, type HubProcess } from '../lib/hub-process.ts';
import { checkObjective, type ObjectiveResult, type Objectives } from '../lib/objectives.ts';
import { Timeline, type MarkRecord, type PhaseRecord, type Printer } from '../lib/timeline.ts';
import { startHaproxy } from './haproxy.ts';

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

export interface EventFigures {
  readonly event: FailoverEvent;
  readonly dmsAcknowledged: number;
  /** Acknowledged DMs their recipient never received. */
  readonly dmsLost: number;
  readonly broadcastsAcknowledged: number;
  /** Broadcast deliveries missed by agents that were in the fleet: at-most-once by design. */
  readonly broadcastDeliveriesMissed: number;
  /** Requests that failed for the application after the client's own retries. */
  readonly failedRequests: number;
  readonly reconnects: number;
  readonly reconnectP50Ms?: number;
  readonly reconnectP99Ms?: number;
}

export interface FailoverReport {
  readonly drill: 'failover';
  readonly target: 'local';
  readonly environment: string;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly settings: {
    readonly hubs: number;
    readonly agents: number;
    readonly stepSeconds: number;
    readonly loadBalancer: string;
  };
  readonly objectives: Objectives;
  readonly results: readonly ObjectiveResult[];
  readonly events: readonly EventFigures[];
  readonly hubExitCodes: Readonly<Record<string, number | null>>;
  readonly notes: readonly string[];
  readonly timeline: {
    readonly startMs: number;
    readonly phases: readonly PhaseRecord[];
    readonly marks: readonly MarkRecord[];
  };
}

interface SentDm {
  readonly key: string;
  readonly to: string;
  readonly event: FailoverEvent;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

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

  let event: FailoverEvent = 'steady';
  const sent: SentDm[] = [];
  const received = new Set<string>();
  const broadcasts = new Map<string, { event: FailoverEvent; expected: number }>();
  const broadcastSeen = new Map<string, number>();
  const failed: Record<FailoverEvent, number> = { steady: 0, sigterm: 0, sigkill: 0 };
  const reconnects: Record<FailoverEvent, number[]> = { steady: [], sigterm: [], sigkill: [] };
  const hubExitCodes: Record<string, number | null> = {};
  const hubs: HubProcess[] = [];
  const clients: HubClient[] = [];

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
          env: { HUB_RATE_MESSAGES_PER_MIN: '1000000', HUB_DRAIN_DELAY_MS: '1000', HUB_SHUTDOWN_GRACE_MS: '15000' },
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

    const tenancy = await provisionTenant(hubs[0]!.httpUrl, adminToken, `failover-${Date.now()}`);
    const ids: string[] = [];
    await timeline.phase('agents', `connect ${agentCount} agents through the load balancer`, async () => {
      for (let i = 0; i < agentCount; i++) {
        const client = new HubClient({
          urls: [lb.wsUrl],
          apiKey: tenancy.apiKey,
          agent: { name: `failover-agent-${i}` },
          backoff: { initialMs: 50, maxMs: 1000 },
        });
        let disconnectedAt: number | undefined;
        client.on('disconnected', () => (disconnectedAt ??= Date.now()));
        client.on('connected', () => {
          if (disconnectedAt !== undefined) reconnects[event].push(Date.now() - disconnectedAt);
          disconnectedAt = undefined;
        });
        client.on('dm', (m) => received.add((m.body as { key: string }).key));
        client.on('event', (name, payload) => {
          if (name !== 'activity') return;
          const key = (payload as { activity: { data: { key: string } } }).activity.data.key;
          broadcastSeen.set(key, (broadcastSeen.get(key) ?? 0) + 1);
        });
        ids.push((await client.connect()).agentId);
        clients.push(client);
      }
    });

    let sending = true;
    const senders = clients.map(async (client, i) => {
      for (let n = 0; sending; n++) {
        const to = ids[(i + 1) % ids.length]!;
        const key = `${i}-${n}`;
        const at = event;
        try {
          await client.sendDm(to, { key }, { idempotencyKey: `dm-${key}`, deadlineMs: 20_000 });
          sent.push({ key, to, event: at });
          if (n % 5 === 0) {
            await client.call(
              'activity.broadcast',
              { kind: 'drill', data: { key: `b-${key}` } },
              { deadlineMs: 20_000 },
            );
            broadcasts.set(`b-${key}`, { event: at, expected: agentCount - 1 });
          }
        } catch (error) {
          if (!(error instanceof HubRequestError) || error.code !== 'closed') failed[at]++;
        }
        await sleep(50);
      }
    });

    await timeline.phase('steady', 'steady load', () => sleep(step));
    event = 'sigterm';
    timeline.mark('sigterm', `SIGTERM ${hubs[0]!.name} (graceful drain)`);
    await timeline.phase(
      'drain',
      `${hubs[0]!.name} drains and exits`,
      async () => (hubExitCodes[hubs[0]!.name] = await hubs[0]!.signal('SIGTERM')),
      { detail: (code) => `exit ${code}` },
    );
    await timeline.phase('after-sigterm', 'load on the remaining hubs', () => sleep(step));
    event = 'sigkill';
    timeline.mark('sigkill', `SIGKILL ${hubs[1]!.name} (crash)`);
    hubExitCodes[hubs[1]!.name] = await hubs[1]!.signal('SIGKILL');
    await timeline.phase('after-sigkill', 'load on the last hub', () => sleep(step));
    sending = false;
    await timeline.phase('settle', 'stop sending, wait for every acknowledged DM to arrive', async () => {
      await Promise.all(senders);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && sent.some((s) => !received.has(s.key))) await sleep(100);
    });
  } catch (error) {
    failures.push(`the drill stopped: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    for (const client of clients) client.close();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }

  const events = (['steady', 'sigterm', 'sigkill'] as const).map((e): EventFigures => {
    const dms = sent.filter((s) => s.event === e);
    const casts = [...broadcasts.entries()].filter(([, b]) => b.event === e);
    return {
      event: e,
      dmsAcknowledged: dms.length,
      dmsLost: dms.filter((s) => !received.has(s.key)).length,
      broadcastsAcknowledged: casts.length,
      broadcastDeliveriesMissed: casts.reduce(
        (sum, [key, b]) => sum + Math.max(0, b.expected - (broadcastSeen.get(key) ?? 0)),
        0,
      ),
      failedRequests: failed[e],
      reconnects: reconnects[e].length,
      reconnectP50Ms: percentile(reconnects[e], 50),
      reconnectP99Ms: percentile(reconnects[e], 99),
    };
  });
  const sigterm = events.find((e) => e.event === 'sigterm')!;
  const sigkill = events.find((e) => e.event === 'sigkill')!;
  if (sigterm.dmsLost > 0)
    failures.push(`${sigterm.dmsLost} acknowledged DMs were lost across the SIGTERM (must be 0)`);
  if (sigkill.dmsLost > 0)
    failures.push(
      `${sigkill.dmsLost} acknowledged DMs were lost across the SIGKILL (DMs are stored before they are acknowledged)`,
    );
  if (sigterm.dmsAcknowledged === 0 || sigkill.dmsAcknowledged === 0)
    failures.push('no DM was acknowledged after a failure: the remaining hubs did not serve');
  if (hubExitCodes[`failover-hub-1`] !== undefined && hubExitCodes['failover-hub-1'] !== 0) {
    failures.push(
      `failover-hub-1 exited ${hubExitCodes['failover-hub-1']} after SIGTERM (expected 0 within the grace period)`,
    );
  }
  // Agents reconnecting is the failover's recovery: its p99 answers to the RTO objective.
  const worstP99 = Math.max(...events.map((e) => e.reconnectP99Ms ?? 0)) / 1000;
  const results = [
    checkObjective(
      'RTO',
      options.objectives.rtoSeconds,
      failures.length > 0 && sent.length === 0 ? undefined : round(worstP99, 3),
    ),
  ];
  failures.push(...results.filter((r) => !r.met).map((r) => r.message));
  return {
    drill: 'failover',
    target: 'local',
    environment: options.env.name,
    command,
    startedAt,
    finishedAt: new Date().toISOString(),
    passed: failures.length === 0,
    failures,
    settings: {
      hubs: hubCount,
      agents: agentCount,
      stepSeconds: step / 1000,
      loadBalancer: 'HAProxy (Debian), health check GET /api/ready every 500 ms',
    },
    objectives: options.objectives,
    results,
    events,
    hubExitCodes,
    notes: [
      'SIGTERM: the hub reports not ready, waits HUB_DRAIN_DELAY_MS so HAProxy stops routing to it, answers the requests it already has, closes sessions with 1012; agents reconnect through HAProxy to another hub and resume their DMs from the last seq they processed.',
      'SIGKILL: requests in flight on the killed hub get no reply; the client retries them with the same idempotency key on another hub, so each takes effect once. Acknowledged DMs are not lost: the hub stores a DM in Postgres before it acknowledges it.',
      'What SIGKILL does lose: broadcasts (activity) are fanned out over Redis pub/sub at most once, so agents that were disconnected at that moment miss them (counted as missed broadcast deliveries); the killed hub’s presence entries stay until their TTL (HUB_PRESENCE_TTL_MS) runs out; DM acknowledgements still batched in the client are sent again, and the redelivered DMs are dropped by seq.',
    ],
    timeline: { startMs: timeline.startMs, phases: timeline.phases, marks: timeline.marks },
  };
}
