/*
 * One fan-out shape for every server it compares: subscribers spread over two nodes that share one
 * Redis, publishers sending at a constant arrival rate (the load runner's executor), every message
 * carrying the time it was sent. The rate climbs in steps until a step misses its bounds; the
 * sustainable figure is the last step whose every message reached every subscriber within them.
 * The clients are raw `ws` sockets for all three servers, so the generator costs each the same.
 */
import WebSocket from 'ws';
import { runScenario } from '../../loadtests/lib/executors.ts';
import { parseOptions } from '../../loadtests/lib/options.ts';
import { Registry } from '../../loadtests/lib/registry.ts';
import { withTimeout } from '../../loadtests/lib/bounded.ts';
import { cpuMsOf } from './hubs.ts';

/** What a published message carries. */
export interface Stamp {
  /** `performance.now()` of this process when sent. */
  readonly t: number;
  /** The step (attempt) it belongs to: late messages of an earlier one are not counted in a later one. */
  readonly step: number;
}

/** A client of one server's protocol: opens, publishes, and hands each received stamp to `onStamp`. */
export interface FanoutClient {
  publish(stamp: Stamp): Promise<void>;
  close(): void;
}

export interface FanoutProtocol {
  readonly name: string;
  /** Opens a client on `url`; a subscriber passes `onStamp`, a publisher does not. */
  open(url: string, name: string, onStamp?: (stamp: Stamp) => void): Promise<FanoutClient>;
}

export interface FanoutBounds {
  readonly p95Ms: number;
  readonly p99Ms: number;
}

export interface FanoutStep {
  readonly messagesPerSecond: number;
  readonly expected: number;
  readonly delivered: number;
  readonly deliveredPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** CPU the server's processes spent per 1,000 deliveries (Redis not included). */
  readonly serverCpuMsPer1k: number;
  readonly passed: boolean;
}

export interface FanoutResult {
  readonly server: string;
  readonly subscribers: number;
  readonly steps: FanoutStep[];
  /** Deliveries per second of the last step that passed; 0 when none did. */
  readonly sustainablePerSecond: number;
}

export interface FanoutPlan {
  /** One URL per node; subscribers and publishers alternate between them. */
  readonly urls: readonly string[];
  readonly subscribers: number;
  readonly publishers: number;
  /** Messages per second of each step, rising. */
  readonly rates: readonly number[];
  readonly stepSeconds: number;
  /** An unrecorded first step at the first rate: the first seconds of a process are its JIT compiling. */
  readonly warmUpSeconds: number;
  readonly bounds: FanoutBounds;
  /** The server's processes, whose CPU time each step reports. */
  readonly pids: readonly number[];
  readonly print: (line: string) => void;
}

const OPEN_CONCURRENCY = 100;
/** After a step, how long messages still on their way may take to arrive. */
const SETTLE_MS = 2_000;

const serverCpuMs = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
const round = (n: number | undefined) => Math.round((n ?? Number.NaN) * 100) / 100;

async function openAll(
  protocol: FanoutProtocol,
  urls: readonly string[],
  count: number,
  prefix: string,
  onStamp?: (stamp: Stamp) => void,
): Promise<FanoutClient[]> {
  const clients: FanoutClient[] = [];
  for (let i = 0; i < count; i += OPEN_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(OPEN_CONCURRENCY, count - i) }, (_, j) =>
      protocol.open(urls[(i + j) % urls.length]!, `${prefix}-${i + j}`, onStamp),
    );
    clients.push(...(await withTimeout(Promise.all(batch), 60_000, `opening ${prefix} clients`)));
  }
  return clients;
}

export async function runFanout(protocol: FanoutProtocol, plan: FanoutPlan): Promise<FanoutResult> {
  let registry = new Registry();
  let currentStep = -1;
  const onStamp = (stamp: Stamp) => {
    if (stamp.step !== currentStep) return;
    registry.trend('latency').add(performance.now() - stamp.t);
    registry.counter('delivered').add(1);
  };
  plan.print(`${protocol.name}: opening ${plan.subscribers} subscribers and ${plan.publishers} publishers`);
  const subscribers = await openAll(protocol, plan.urls, plan.subscribers, 'sub', onStamp);
  const publishers = await openAll(protocol, plan.urls, plan.publishers, 'pub');
  const steps: FanoutStep[] = [];
  /** Publishes at `rate` for `seconds` as a step of its own; resolves once late messages had time to land. */
  const publishAt = async (rate: number, seconds: number) => {
    registry = new Registry();
    const step = ++currentStep;
    const options = parseOptions({
      scenarios: {
        publish: {
          executor: 'constant-arrival-rate',
          rate,
          timeUnit: '1s',
          duration: `${seconds}s`,
          preAllocatedVUs: Math.max(plan.publishers, 10),
          maxVUs: 1_000,
          gracefulStop: '5s',
        },
      },
    });
    let sent = 0;
    const cpuBefore = serverCpuMs(plan.pids);
    await runScenario(
      'publish',
      options.scenarios.publish!,
      async (ctx) => {
        sent++;
        await publishers[ctx.iteration % publishers.length]!.publish({ t: performance.now(), step });
      },
      { registry },
    );
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return { sent, cpuMs: serverCpuMs(plan.pids) - cpuBefore };
  };
  try {
    await publishAt(plan.rates[0]!, plan.warmUpSeconds);
    let retried = false;
    for (let index = 0; index < plan.rates.length; index++) {
      const rate = plan.rates[index]!;
      const { sent, cpuMs } = await publishAt(rate, plan.stepSeconds);
      const trend = registry.trend('latency').select();
      const delivered = registry.counter('delivered').select().count;
      const expected = sent * plan.subscribers;
      const p95 = trend.percentile(95) ?? Number.POSITIVE_INFINITY;
      const p99 = trend.percentile(99) ?? Number.POSITIVE_INFINITY;
      const passed = delivered === expected && p95 < plan.bounds.p95Ms && p99 < plan.bounds.p99Ms;
      const step: FanoutStep = {
        messagesPerSecond: rate,
        expected,
        delivered,
        deliveredPerSecond: Math.round(delivered / plan.stepSeconds),
        p50Ms: round(trend.percentile(50)),
        p95Ms: round(p95),
        p99Ms: round(p99),
        serverCpuMsPer1k: round((cpuMs / Math.max(delivered, 1)) * 1000),
        passed,
      };
      steps.push(step);
      plan.print(
        `${protocol.name}: ${rate} msg/s x ${plan.subscribers} -> ${step.deliveredPerSecond} deliveries/s, ` +
          `p95 ${step.p95Ms} ms, p99 ${step.p99Ms} ms, ${delivered}/${expected} delivered, ` +
          `server CPU ${step.serverCpuMsPer1k} ms per 1k: ${passed ? 'ok' : 'missed'}`,
      );
      if (passed) continue;
      // Other work on the machine can spoil one step: a figure stands only when its step misses twice.
      if (retried) break;
      retried = true;
      plan.print(`${protocol.name}: running the missed step again`);
      index--;
    }
  } finally {
    for (const client of [...subscribers, ...publishers]) client.close();
  }
  const best = steps
    .filter((s) => s.passed)
    .sort((a, b) => a.messagesPerSecond - b.messagesPerSecond)
    .at(-1);
  return {
    server: protocol.name,
    subscribers: plan.subscribers,
    steps,
    sustainablePerSecond: best === undefined ? 0 : best.messagesPerSecond * plan.subscribers,
  };
}

/** Opens a socket and resolves once it is open. */
export function openSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Resolves with the first parsed message `match` accepts. */
export function firstMessage<T>(ws: WebSocket, match: (message: Record<string, unknown>) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      for (const line of data.toString().split('\n')) {
        if (line === '') continue;
        const found = match(JSON.parse(line) as Record<string, unknown>);
        if (found === undefined) continue;
        ws.off('message', onMessage);
        resolve(found);
        return;
      }
    };
    ws.on('message', onMessage);
    ws.once('close', (code) => reject(new Error(`closed with ${code} before the expected message`)));
  });
}
