/*
 * Direct messages between agent pairs at a constant arrival rate. Each DM carries the time it was
 * sent; its recipient, in this same process, records the delivery latency and checks that seqs
 * follow one another.
 */
import type { DirectMessage } from '../../src/hub/client/types.ts';
import { connectMany, type Agent } from '../lib/agents.ts';
import { withTimeout } from '../lib/bounded.ts';
import type { IterationContext } from '../lib/executors.ts';
import type { Registry } from '../lib/registry.ts';
import type { Profile, SetupContext, Slo } from '../lib/scenario.ts';
import { agentNames, agentShare } from '../lib/slices.ts';

const PAIRS = { smoke: 10, full: 100 } as const;
const DELIVERY_TIMEOUT_MS = 5_000;

export function options(slo: Slo, profile: Profile) {
  const smoke = profile === 'smoke';
  return {
    scenarios: {
      dm: {
        executor: 'constant-arrival-rate' as const,
        exec: 'sendDm',
        rate: smoke ? 50 : 500,
        timeUnit: '1s',
        duration: smoke ? '15s' : '2m',
        preAllocatedVUs: smoke ? 20 : 200,
        maxVUs: smoke ? 100 : 1000,
        gracefulStop: '10s',
      },
    },
    thresholds: {
      dm_latency: [`p(95)<${slo.dmDeliveryP95Ms}`],
      dm_seq_gaps: ['count<1'],
      checks: ['rate>0.99'],
    },
  };
}

interface Body {
  readonly sentAt: number;
  readonly id: string;
}

interface Pair {
  readonly sender: Agent;
  readonly recipient: Agent;
}

interface Data {
  readonly pairs: readonly Pair[];
  readonly agents: readonly Agent[];
  /** Resolvers of the iterations waiting for their DM, by the DM's id. */
  readonly waiting: Map<string, () => void>;
}

function isBody(body: unknown): body is Body {
  return typeof body === 'object' && body !== null && typeof (body as Body).sentAt === 'number';
}

export async function setup({ target, registry, profile, slice, runId }: SetupContext): Promise<Data> {
  const count = agentShare(PAIRS[profile], slice, 'DM pairs');
  const names = agentNames('lt-dm', runId, count * 2);
  const unexpected = registry.counter('unexpected_closes');
  const agents = await connectMany(target, names, 20, { onUnexpectedClose: () => unexpected.add(1) });
  const waiting = new Map<string, () => void>();
  const latency = registry.trend('dm_latency');
  const gaps = registry.counter('dm_seq_gaps');
  gaps.add(0);
  const pairs = Array.from({ length: count }, (_, i) => ({ sender: agents[2 * i]!, recipient: agents[2 * i + 1]! }));
  for (const { recipient } of pairs) listen(recipient, waiting, latency, gaps);
  return { pairs, agents, waiting };
}

function listen(
  recipient: Agent,
  waiting: Map<string, () => void>,
  latency: ReturnType<Registry['trend']>,
  gaps: ReturnType<Registry['counter']>,
): void {
  let lastSeq = recipient.client.lastDeliveredSeq;
  const tags = { scenario: 'dm', replica: recipient.hello.replicaId };
  recipient.client.on('dm', (message: DirectMessage) => {
    const receivedAt = performance.now();
    if (message.seq !== lastSeq + 1) gaps.add(1, tags);
    lastSeq = message.seq;
    if (!isBody(message.body)) return;
    latency.add(receivedAt - message.body.sentAt, tags);
    waiting.get(message.body.id)?.();
  });
}

export async function sendDm(ctx: IterationContext, data: Data): Promise<void> {
  const { sender, recipient } = data.pairs[ctx.iteration % data.pairs.length]!;
  const id = `${ctx.iteration}`;
  const delivered = new Promise<void>((resolve) => data.waiting.set(id, resolve));
  try {
    const receipt = await sender.client.sendDm(
      recipient.hello.agentId,
      { sentAt: performance.now(), id } satisfies Body,
      {
        deadlineMs: DELIVERY_TIMEOUT_MS,
      },
    );
    ctx.check(receipt, { 'dm accepted': (r) => r.seq > 0 });
    const arrived = await withTimeout(delivered, DELIVERY_TIMEOUT_MS, `DM ${id}`).then(
      () => true,
      () => false,
    );
    ctx.check(arrived, { 'dm delivered': (ok) => ok });
  } catch (error) {
    ctx.check(error, { 'dm accepted': () => false });
    throw error;
  } finally {
    data.waiting.delete(id);
  }
}

export const exec = { sendDm };

export async function teardown(data: Data): Promise<void> {
  for (const agent of data.agents) agent.close();
}

export const progressTrend = 'dm_latency';
