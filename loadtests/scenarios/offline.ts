/*
 * Offline delivery: recipients take one DM each, note the last seq they processed and disconnect.
 * While they are offline, senders send them DMs at a constant arrival rate; each one the hub
 * acknowledges (a receipt with a seq) must reach its recipient later. Once sending is over, each
 * recipient connects again with a new client given that last seq, and must receive every
 * acknowledged DM exactly once and in seq order within a bounded wait.
 */
import type { DirectMessage } from '../../src/hub/client/types.ts';
import { connectAgent, connectMany, type Agent } from '../lib/agents.ts';
import { sleep, withTimeout } from '../lib/bounded.ts';
import type { IterationContext } from '../lib/executors.ts';
import type { Registry } from '../lib/registry.ts';
import type { Profile, SetupContext, Slo } from '../lib/scenario.ts';
import { agentNames, agentShare } from '../lib/slices.ts';
import type { Target } from '../lib/stack.ts';

const SIZES = {
  smoke: { recipients: 10, senders: 5, rate: 20, sendFor: 10 },
  full: { recipients: 100, senders: 20, rate: 200, sendFor: 60 },
} as const;
/** How long a send may take to be acknowledged (retries included). */
const SEND_DEADLINE_MS = 5_000;
/** How long a reconnected recipient waits for the DMs it missed. */
const REDELIVERY_TIMEOUT_MS = 10_000;
/** How long setup waits for a warm-up DM, and for a recipient's connection to close. */
const SETUP_WAIT_MS = 5_000;
/** How long a reconnect waits for sends still in flight when sending ended. */
const SETTLE_TIMEOUT_MS = SEND_DEADLINE_MS + 1_000;

export function options(_slo: Slo, profile: Profile) {
  const size = SIZES[profile];
  return {
    scenarios: {
      // Recipients are offline from setup on: every DM of this scenario waits in the hub for them.
      send: {
        executor: 'constant-arrival-rate' as const,
        exec: 'sendWhileOffline',
        rate: size.rate,
        timeUnit: '1s',
        duration: `${size.sendFor}s`,
        preAllocatedVUs: size.rate,
        maxVUs: size.rate * 5,
        gracefulStop: `${SEND_DEADLINE_MS / 1000}s`,
      },
      // One iteration per recipient, all within a second, once sending is over.
      reconnect: {
        executor: 'constant-arrival-rate' as const,
        exec: 'reconnect',
        rate: size.recipients,
        timeUnit: '1s',
        duration: '1s',
        preAllocatedVUs: size.recipients,
        maxVUs: size.recipients,
        startTime: `${size.sendFor + 1}s`,
        gracefulStop: '30s',
      },
    },
    thresholds: {
      offline_lost: ['count<1'],
      offline_duplicates: ['count<1'],
      offline_out_of_order: ['count<1'],
      checks: ['rate>0.99'],
    },
  };
}

interface Body {
  readonly id: string;
}

interface Recipient {
  readonly name: string;
  readonly agentId: string;
  /** The last seq the recipient processed before going offline: the new client resumes after it. */
  readonly lastSeq: number;
  /** DMs the hub acknowledged while the recipient was offline: seq → id. */
  readonly acknowledged: Map<number, string>;
  reconnected: boolean;
}

interface Data {
  readonly target: Target;
  readonly registry: Registry;
  readonly senders: readonly Agent[];
  readonly recipients: readonly Recipient[];
  /** Every agent connected, senders and reconnected recipients, for teardown. */
  readonly agents: Agent[];
  /** Sends not yet acknowledged or failed. */
  inFlight: number;
}

function bodyId(body: unknown): string | undefined {
  const id = (body as Partial<Body> | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** Resolves when `client` emits `disconnected`, or after `ms`. */
function disconnected(agent: Agent, ms: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => agent.client.once('disconnected', () => resolve())),
    ms,
    'closing a recipient',
  ).catch(() => undefined);
}

export async function setup({ target, registry, profile, slice, runId }: SetupContext): Promise<Data> {
  const size = SIZES[profile];
  const unexpected = registry.counter('unexpected_closes');
  const onUnexpectedClose = () => unexpected.add(1);
  // The reconnect scenario's rate is sliced the same way: one iteration per recipient of this slice.
  const names = agentNames('lt-offline', runId, agentShare(size.recipients, slice, 'recipients'));
  const senders = await connectMany(
    target,
    agentNames('lt-offline-sender', runId, agentShare(size.senders, slice, 'senders')),
    20,
    { onUnexpectedClose },
  );
  const online = await connectMany(target, names, 20, { onUnexpectedClose });
  const agents: Agent[] = [...senders];
  try {
    // A warm-up DM each, so that every recipient resumes from a seq above 0.
    await Promise.all(
      online.map(async (agent, i) => {
        const arrived = new Promise<void>((resolve) => agent.client.once('dm', () => resolve()));
        await senders[i % senders.length]!.client.sendDm(agent.hello.agentId, { id: 'warm-up' } satisfies Body, {
          deadlineMs: SETUP_WAIT_MS,
        });
        await withTimeout(arrived, SETUP_WAIT_MS, `warm-up DM to ${names[i]}`);
      }),
    );
    // Offline: the new client later is told the last seq processed here, not the hub's ack.
    const recipients = await Promise.all(
      online.map(async (agent, i): Promise<Recipient> => {
        const lastSeq = agent.client.lastDeliveredSeq;
        const closed = disconnected(agent, SETUP_WAIT_MS);
        agent.close();
        await closed;
        return { name: names[i]!, agentId: agent.hello.agentId, lastSeq, acknowledged: new Map(), reconnected: false };
      }),
    );
    for (const name of ['offline_redelivered', 'offline_lost', 'offline_duplicates', 'offline_out_of_order']) {
      registry.counter(name).add(0);
    }
    return { target, registry, senders, recipients, agents, inFlight: 0 };
  } catch (error) {
    for (const agent of [...senders, ...online]) agent.close();
    throw error;
  }
}

export async function sendWhileOffline(ctx: IterationContext, data: Data): Promise<void> {
  const recipient = data.recipients[ctx.iteration % data.recipients.length]!;
  const sender = data.senders[ctx.iteration % data.senders.length]!;
  const id = `${ctx.iteration}`;
  const started = performance.now();
  data.inFlight++;
  try {
    const receipt = await sender.client.sendDm(recipient.agentId, { id } satisfies Body, {
      deadlineMs: SEND_DEADLINE_MS,
    });
    data.registry.trend('offline_send_duration').add(performance.now() - started, ctx.tags);
    ctx.check(receipt, { 'dm acknowledged': (r) => r.seq > recipient.lastSeq });
    recipient.acknowledged.set(receipt.seq, id);
  } catch (error) {
    ctx.check(error, { 'dm acknowledged': () => false });
    throw error;
  } finally {
    data.inFlight--;
  }
}

export async function reconnect(ctx: IterationContext, data: Data): Promise<void> {
  const { registry } = data;
  const recipient = data.recipients[ctx.iteration % data.recipients.length]!;
  if (recipient.reconnected) return;
  recipient.reconnected = true;

  // Sends still waiting for their receipt when sending ended: bounded, they have a deadline too.
  const settleBy = performance.now() + SETTLE_TIMEOUT_MS;
  while (data.inFlight > 0 && performance.now() < settleBy && !ctx.signal.aborted) await sleep(50, ctx.signal);
  const expected = [...recipient.acknowledged.keys()].sort((a, b) => a - b);
  const expecting = new Set(expected);

  let tags = { ...ctx.tags };
  const redelivered = registry.counter('offline_redelivered');
  const duplicates = registry.counter('offline_duplicates');
  const outOfOrder = registry.counter('offline_out_of_order');
  const seen = new Set<number>();
  const seenIds = new Set<string>();
  let previous = recipient.lastSeq;
  let duplicateCount = 0;
  let outOfOrderCount = 0;
  let allArrived = () => {};
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  if (expecting.size === 0) allArrived();
  const onDm = (message: DirectMessage) => {
    redelivered.add(1, tags);
    const id = bodyId(message.body);
    // Processed before going offline, or already received since: the application saw it twice.
    if (message.seq <= recipient.lastSeq || seen.has(message.seq) || (id !== undefined && seenIds.has(id))) {
      duplicates.add(1, tags);
      duplicateCount++;
    } else if (message.seq < previous) {
      outOfOrder.add(1, tags);
      outOfOrderCount++;
    }
    seen.add(message.seq);
    if (id !== undefined) seenIds.add(id);
    previous = Math.max(previous, message.seq);
    if (expecting.delete(message.seq) && expecting.size === 0) allArrived();
  };

  let agent: Agent;
  try {
    agent = await connectAgent(data.target, recipient.name, {
      lastSeq: recipient.lastSeq,
      beforeConnect: (client) => client.on('dm', onDm),
    });
  } catch (error) {
    ctx.check(error, { reconnected: () => false });
    // Nothing arrived: every acknowledged DM is lost to this recipient.
    registry.counter('offline_lost').add(expected.length, tags);
    throw error;
  }
  data.agents.push(agent);
  tags = { ...ctx.tags, replica: agent.hello.replicaId };
  registry.trend('reconnect_duration').add(agent.connectMs, tags);
  ctx.check(agent.hello, { reconnected: (hello) => hello.agentId === recipient.agentId });

  const waitStarted = performance.now();
  const stop = new AbortController();
  void arrived.then(() => stop.abort());
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  await sleep(REDELIVERY_TIMEOUT_MS, stop.signal);
  ctx.signal.removeEventListener('abort', onAbort);
  if (expecting.size === 0) registry.trend('offline_catch_up_duration').add(performance.now() - waitStarted, tags);

  registry.counter('offline_lost').add(expecting.size, tags);
  ctx.check(expecting.size, { 'every acknowledged dm redelivered': (missing) => missing === 0 });
  ctx.check(duplicateCount, { 'no dm twice': (n) => n === 0 });
  ctx.check(outOfOrderCount, { 'dms in seq order': (n) => n === 0 });
  agent.client.off('dm', onDm);
  agent.close();
}

export const exec = { sendWhileOffline, reconnect };

export async function teardown(data: Data): Promise<void> {
  for (const agent of data.agents) agent.close();
}

export const progressTrend = 'offline_send_duration';
