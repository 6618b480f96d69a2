/*
 * What one hub replica holds: N agents connect (the load runner's agents, spread over loopback
 * source addresses past 28k), the memory each idle connection costs (RSS growth after a full
 * garbage collection, divided by N), a hold with every unexpected close counted, then a storm: every
 * agent closes and all of them reconnect at once, as after a deploy or a failover.
 */
import WebSocket from 'ws';
import { connectMany, type Agent } from '../../loadtests/lib/agents.ts';
import type { Target } from '../../loadtests/lib/stack.ts';
import { freePort } from '../lib/local-services.ts';
import { startHubs, type BenchHub } from './hubs.ts';

export interface CapacityPlan {
  readonly agents: number;
  readonly holdSeconds: number;
  readonly print: (line: string) => void;
}

export interface CapacityResult {
  readonly agents: number;
  /** First connection of every agent: each hello creates its agent. */
  readonly firstConnect: { readonly seconds: number; readonly hellosPerSecond: number };
  readonly memory: {
    readonly rssBeforeMiB: number;
    readonly rssAfterMiB: number;
    readonly bytesPerConnection: number;
  };
  readonly hold: { readonly seconds: number; readonly unexpectedCloses: number; readonly heldAtEnd: number };
  readonly storm: {
    readonly seconds: number;
    readonly hellosPerSecond: number;
    readonly connectP50Ms: number;
    readonly connectP95Ms: number;
    readonly connectMaxMs: number;
  };
}

/** The storm's agents all start at once; each may wait this long for its hello reply. */
const STORM_CONNECT_TIMEOUT_MS = 120_000;
const FIRST_CONNECT_CONCURRENCY = 200;

/** Runs a full garbage collection in the hub through its inspector (started with `--inspect`). */
async function collectGarbage(inspectPort: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { id?: number }).id === 1) resolve();
    });
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}

async function settledRss(hub: BenchHub, inspectPort: number): Promise<number> {
  // Twice: the first collection frees what finalizers of the previous round released.
  await collectGarbage(inspectPort);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await collectGarbage(inspectPort);
  return hub.rssBytes();
}

async function heldConnections(hub: BenchHub, adminToken: string): Promise<number> {
  const response = await fetch(`${hub.adminUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
  const value = /^hub_connected_agents(?:\{[^}]*\})? (\d+)$/m.exec(await response.text())?.[1];
  return Number(value ?? Number.NaN);
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function percentile(sorted: readonly number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
}

export async function runCapacity(plan: CapacityPlan): Promise<CapacityResult> {
  const inspectPort = await freePort();
  const hubs = await startHubs({ count: 1, nodeArgs: () => [`--inspect=127.0.0.1:${inspectPort}`] });
  const hub = hubs.hubs[0]!;
  const target: Target = {
    wsUrl: hub.wsUrl,
    apiKey: hubs.apiKey,
    replicas: ['bench-hub-1'],
    httpUrl: hub.wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, ''),
    adminUrls: [hub.adminUrl],
    adminToken: hubs.adminToken,
  };
  const names = Array.from({ length: plan.agents }, (_, i) => `capacity-${i}`);
  let unexpectedCloses = 0;
  let agents: Agent[] = [];
  try {
    const rssBefore = await settledRss(hub, inspectPort);
    plan.print(`capacity: hub RSS ${mib(rssBefore)} MiB idle; connecting ${plan.agents} agents`);
    const firstStarted = performance.now();
    agents = await connectMany(target, names, FIRST_CONNECT_CONCURRENCY, {
      onUnexpectedClose: () => unexpectedCloses++,
    });
    const firstSeconds = (performance.now() - firstStarted) / 1000;
    plan.print(`capacity: ${plan.agents} agents connected in ${firstSeconds.toFixed(1)} s`);
    const rssAfter = await settledRss(hub, inspectPort);
    const perConnection = Math.round((rssAfter - rssBefore) / plan.agents);
    plan.print(`capacity: hub RSS ${mib(rssAfter)} MiB, ${Math.round(perConnection / 1024)} KiB per connection`);

    for (let left = plan.holdSeconds; left > 0; left -= 30) {
      plan.print(`capacity: holding, ${left} s left, ${unexpectedCloses} unexpected closes`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(30, left) * 1000));
    }
    const heldAtEnd = await heldConnections(hub, hubs.adminToken);
    const holdUnexpected = unexpectedCloses;

    plan.print(`capacity: closing every agent, then reconnecting all ${plan.agents} at once`);
    for (const agent of agents) agent.close();
    for (let waited = 0; (await heldConnections(hub, hubs.adminToken)) > 0 && waited < 60_000; waited += 500)
      await new Promise((resolve) => setTimeout(resolve, 500));
    const stormStarted = performance.now();
    agents = await connectMany(target, names, plan.agents, { timeoutMs: STORM_CONNECT_TIMEOUT_MS });
    const stormSeconds = (performance.now() - stormStarted) / 1000;
    const connectMs = agents.map((a) => a.connectMs).sort((a, b) => a - b);
    plan.print(`capacity: storm of ${plan.agents} hellos done in ${stormSeconds.toFixed(1)} s`);
    return {
      agents: plan.agents,
      firstConnect: { seconds: round1(firstSeconds), hellosPerSecond: Math.round(plan.agents / firstSeconds) },
      memory: { rssBeforeMiB: mib(rssBefore), rssAfterMiB: mib(rssAfter), bytesPerConnection: perConnection },
      hold: { seconds: plan.holdSeconds, unexpectedCloses: holdUnexpected, heldAtEnd },
      storm: {
        seconds: round1(stormSeconds),
        hellosPerSecond: Math.round(plan.agents / stormSeconds),
        connectP50Ms: percentile(connectMs, 50),
        connectP95Ms: percentile(connectMs, 95),
        connectMaxMs: Math.round(connectMs.at(-1)!),
      },
    };
  } finally {
    for (const agent of agents) agent.close();
    await hubs.stop();
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
