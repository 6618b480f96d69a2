/*
 * Soak: a long, moderate mix of what agents do. The agents of dm, fanout and tasks (their own setups
 * and iterations, at a fraction of their rates), plus held connections that send heartbeats and
 * read the roster. Every few seconds each hub's /metrics is scraped for its resident memory and
 * connected agents, so a leak shows as memory that keeps growing under a load that does not.
 */
import type { RosterEntry } from '../../src/hub/client/types.ts';
import { connectMany, type Agent } from '../lib/agents.ts';
import type { IterationContext } from '../lib/executors.ts';
import { scrapeHub } from '../lib/hub-metrics.ts';
import type { Registry } from '../lib/registry.ts';
import type { Profile, SetupContext, Slo } from '../lib/scenario.ts';
import { agentNames, agentShare } from '../lib/slices.ts';
import type { Target } from '../lib/stack.ts';
import * as dm from './dm.ts';
import * as fanout from './fanout.ts';
import * as tasks from './tasks.ts';

const MIX = {
  smoke: { duration: '30s', held: 50, heartbeats: 10, dms: 5, broadcasts: 1, tasks: 2, sampleEvery: '5s' },
  full: { duration: '30m', held: 500, heartbeats: 50, dms: 50, broadcasts: 2, tasks: 10, sampleEvery: '15s' },
} as const;
/** One presence request in this many reads the roster; the others are heartbeats. */
const ROSTER_EVERY = 10;
const MIB = 1024 * 1024;

/**
 * How far a hub's resident memory may rise above its first sample. That sample is taken once setup
 * has connected every agent, so the memory each connection holds is already in it; under a load
 * that stays the same, what follows is V8's heap settling into its working set, tens of MiB. A leak
 * of a few hundred bytes per delivered frame crosses this within a full soak (millions of frames).
 * `max`, not the last value: a leak that a late GC happens to hide for one sample still fails.
 */
const RSS_GROWTH_LIMIT_MIB = 256;

export function options(slo: Slo, profile: Profile) {
  const mix = MIX[profile];
  const rate = (exec: string, perSecond: number, gracefulStop: string) => ({
    executor: 'constant-arrival-rate' as const,
    exec,
    rate: perSecond,
    timeUnit: '1s',
    duration: mix.duration,
    preAllocatedVUs: Math.max(2, perSecond),
    maxVUs: Math.max(10, perSecond * 5),
    gracefulStop,
  });
  return {
    // Named as in their own modules, whose listeners tag the samples they record with these names.
    scenarios: {
      presence: rate('heartbeat', mix.heartbeats, '10s'),
      dm: rate('sendDm', mix.dms, '10s'),
      fanout: rate('broadcast', mix.broadcasts, '10s'),
      tasks: rate('submitTask', mix.tasks, '20s'),
      hubs: { ...rate('sampleHubs', 1, '10s'), timeUnit: mix.sampleEvery },
    },
    thresholds: {
      ...dm.options(slo, profile).thresholds,
      ...fanout.options(slo, profile).thresholds,
      ...tasks.options(slo, profile).thresholds,
      presence_request_duration: [`p(95)<${slo.apiP95Ms}`],
      unexpected_closes: ['count<1'],
      hub_rss_growth_mib: [`max<${RSS_GROWTH_LIMIT_MIB}`],
    },
  };
}

interface Data {
  readonly target: Target;
  readonly registry: Registry;
  readonly held: readonly Agent[];
  readonly dm: Awaited<ReturnType<typeof dm.setup>>;
  readonly fanout: Awaited<ReturnType<typeof fanout.setup>>;
  readonly tasks: Awaited<ReturnType<typeof tasks.setup>>;
  /** Each hub's first resident memory sample, by replica. */
  readonly baselineRss: Map<string, number>;
}

export async function setup(ctx: SetupContext): Promise<Data> {
  const { target, registry, profile, slice, runId } = ctx;
  const teardowns: (() => Promise<void>)[] = [];
  try {
    const unexpected = registry.counter('unexpected_closes');
    const held = await connectMany(
      target,
      agentNames('lt-held', runId, agentShare(MIX[profile].held, slice, 'held agents')),
      20,
      {
        onUnexpectedClose: () => unexpected.add(1),
      },
    );
    teardowns.push(async () => held.forEach((agent) => agent.close()));
    const dmData = await dm.setup(ctx);
    teardowns.push(() => dm.teardown(dmData));
    const fanoutData = await fanout.setup(ctx);
    teardowns.push(() => fanout.teardown(fanoutData));
    const tasksData = await tasks.setup(ctx);
    return { target, registry, held, dm: dmData, fanout: fanoutData, tasks: tasksData, baselineRss: new Map() };
  } catch (error) {
    for (const teardown of teardowns) await teardown();
    throw error;
  }
}

export async function heartbeat(ctx: IterationContext, data: Data): Promise<void> {
  const agent = data.held[ctx.iteration % data.held.length]!;
  const type = ctx.iteration % ROSTER_EVERY === 0 ? 'presence.roster' : 'heartbeat';
  const started = performance.now();
  try {
    if (type === 'heartbeat') {
      await agent.client.request('heartbeat', { load: ctx.iteration % 100, status: 'online' });
    } else {
      const { agents } = await agent.client.request<{ agents: RosterEntry[] }>('presence.roster');
      const online = new Set(agents.map((entry) => entry.agentId));
      ctx.check(data.held, { 'held agents on the roster': (held) => held.every((a) => online.has(a.hello.agentId)) });
    }
    data.registry.trend('presence_request_duration').add(performance.now() - started, { ...ctx.tags, type });
  } catch (error) {
    ctx.check(error, { [`${type} answered`]: () => false });
    throw error;
  }
}

export async function sampleHubs(ctx: IterationContext, data: Data): Promise<void> {
  const { registry } = data;
  await Promise.all(
    data.target.adminUrls.map(async (adminUrl) => {
      let sample;
      try {
        sample = await scrapeHub(adminUrl, ctx.signal);
      } catch (error) {
        ctx.check(error, { 'hub metrics scraped': () => false });
        throw error;
      }
      ctx.check(sample, { 'hub metrics scraped': () => true });
      const tags = { ...ctx.tags, replica: sample.replica };
      const rssMib = sample.rssBytes / MIB;
      if (!data.baselineRss.has(sample.replica)) data.baselineRss.set(sample.replica, rssMib);
      registry.gauge('hub_rss_mib').add(rssMib, tags);
      registry.gauge('hub_rss_growth_mib').add(rssMib - data.baselineRss.get(sample.replica)!, tags);
      registry.gauge('hub_connected_agents').add(sample.connectedAgents, tags);
    }),
  );
}

export const exec = {
  heartbeat,
  sendDm: (ctx: IterationContext, data: Data) => dm.sendDm(ctx, data.dm),
  broadcast: (ctx: IterationContext, data: Data) => fanout.broadcast(ctx, data.fanout),
  submitTask: (ctx: IterationContext, data: Data) => tasks.submitTask(ctx, data.tasks),
  sampleHubs,
};

export async function teardown(data: Data): Promise<void> {
  for (const agent of data.held) agent.close();
  await Promise.all([dm.teardown(data.dm), fanout.teardown(data.fanout), tasks.teardown(data.tasks)]);
}

export const progressTrend = 'dm_latency';
