/*
 * Fleet broadcast fan-out: subscribers connect through the load balancer, which spreads them over
 * both hubs, so every broadcast crosses Redis to reach the other hub's subscribers. Publishers send
 * `activity.broadcast` at a constant arrival rate, each carrying the time it was sent; subscribers,
 * in this same process, record the latency tagged with the replica that served them.
 */
import { connectMany, type Agent } from '../lib/agents.ts';
import { sleep } from '../lib/bounded.ts';
import type { IterationContext } from '../lib/executors.ts';
import type { Registry } from '../lib/registry.ts';
import type { Profile, SetupContext, Slo } from '../lib/scenario.ts';
import { agentNames, agentShare } from '../lib/slices.ts';

const SIZES = { smoke: { subscribers: 40, publishers: 4 }, full: { subscribers: 400, publishers: 20 } } as const;
const DELIVERY_TIMEOUT_MS = 5_000;

export function options(slo: Slo, profile: Profile) {
  const smoke = profile === 'smoke';
  return {
    scenarios: {
      fanout: {
        executor: 'constant-arrival-rate' as const,
        exec: 'broadcast',
        rate: smoke ? 20 : 100,
        timeUnit: '1s',
        duration: smoke ? '15s' : '2m',
        preAllocatedVUs: smoke ? 20 : 100,
        maxVUs: smoke ? 100 : 1000,
        gracefulStop: '10s',
      },
    },
    thresholds: {
      fanout_latency: [`p(95)<${slo.fanoutDeliveryP95Ms}`, `p(99)<${slo.fanoutDeliveryP99Ms}`],
      fanout_delivery: ['rate>=0.999'],
      checks: ['rate>0.99'],
    },
  };
}

interface Body {
  readonly sentAt: number;
  readonly id: string;
  /** The sending runner's: a broadcast reaches the fleet, the other slices' subscribers too. */
  readonly runId: string;
}

interface Broadcast {
  /** Subscribers that have not received it yet. */
  readonly missing: Set<Agent>;
  readonly done: () => void;
}

interface Data {
  readonly runId: string;
  readonly publishers: readonly Agent[];
  readonly subscribers: readonly Agent[];
  readonly inFlight: Map<string, Broadcast>;
  readonly registry: Registry;
}

function isActivity(payload: unknown): payload is { activity: { kind: string; data: Body } } {
  const activity = (payload as { activity?: { kind?: unknown; data?: Partial<Body> } } | undefined)?.activity;
  return activity?.kind === 'loadtest' && typeof activity.data?.sentAt === 'number';
}

export async function setup({ target, registry, profile, slice, runId }: SetupContext): Promise<Data> {
  const size = SIZES[profile];
  const unexpected = registry.counter('unexpected_closes');
  const onUnexpectedClose = () => unexpected.add(1);
  const subscribers = await connectMany(
    target,
    agentNames('lt-sub', runId, agentShare(size.subscribers, slice, 'subscribers')),
    20,
    { onUnexpectedClose },
  );
  const publishers = await connectMany(
    target,
    agentNames('lt-pub', runId, agentShare(size.publishers, slice, 'publishers')),
    20,
    { onUnexpectedClose },
  );
  const replicas = new Set(subscribers.map((s) => s.hello.replicaId));
  if (replicas.size < target.replicas.length) {
    throw new Error(`subscribers reached ${[...replicas].join(', ')} only, not all ${target.replicas.length} hubs`);
  }
  const inFlight = new Map<string, Broadcast>();
  const latency = registry.trend('fanout_latency');
  const delivered = registry.counter('fanout_delivered');
  for (const subscriber of subscribers) {
    const tags = { scenario: 'fanout', replica: subscriber.hello.replicaId };
    subscriber.client.on('event', (event, payload) => {
      const receivedAt = performance.now();
      // Latency only from this runner's own broadcasts: another process's clock is not comparable.
      if (event !== 'activity' || !isActivity(payload) || payload.activity.data.runId !== runId) return;
      const { sentAt, id } = payload.activity.data;
      latency.add(receivedAt - sentAt, tags);
      delivered.add(1, tags);
      const broadcast = inFlight.get(id);
      if (broadcast?.missing.delete(subscriber) && broadcast.missing.size === 0) broadcast.done();
    });
  }
  return { runId, publishers, subscribers, inFlight, registry };
}

export async function broadcast(ctx: IterationContext, data: Data): Promise<void> {
  const { registry, subscribers, inFlight } = data;
  const publisher = data.publishers[ctx.iteration % data.publishers.length]!;
  const id = `${ctx.iteration}`;
  const expected = registry.counter('fanout_expected');
  const delivery = registry.rate('fanout_delivery');
  let done = () => {};
  const allArrived = new Promise<void>((resolve) => (done = resolve));
  const entry: Broadcast = { missing: new Set(subscribers), done };
  inFlight.set(id, entry);
  try {
    const reply = await publisher.client.request<{ at: string }>('activity.broadcast', {
      kind: 'loadtest',
      data: { sentAt: performance.now(), id, runId: data.runId } satisfies Body,
    });
    ctx.check(reply, { 'broadcast accepted': (r) => typeof r.at === 'string' });
    for (const subscriber of subscribers) expected.add(1, { ...ctx.tags, replica: subscriber.hello.replicaId });
    // Bounded: whatever has not arrived by the timeout counts as not delivered.
    const timeout = new AbortController();
    void allArrived.then(() => timeout.abort());
    await sleep(DELIVERY_TIMEOUT_MS, timeout.signal);
    for (const subscriber of subscribers) {
      delivery.add(!entry.missing.has(subscriber), { ...ctx.tags, replica: subscriber.hello.replicaId });
    }
  } catch (error) {
    ctx.check(error, { 'broadcast accepted': () => false });
    throw error;
  } finally {
    inFlight.delete(id);
  }
}

export const exec = { broadcast };

export async function teardown(data: Data): Promise<void> {
  for (const agent of [...data.publishers, ...data.subscribers]) agent.close();
}

export const progressTrend = 'fanout_latency';
