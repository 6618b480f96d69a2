/*
 * Connection storm: VUs ramp to N agents; each connects through the load balancer, holds the
 * connection, closes it and connects again as a new agent. Measures the time to the hello reply and
 * connections the hub dropped.
 */
import type { IterationContext } from '../lib/executors.ts';
import { connectAgent } from '../lib/agents.ts';
import { sleep } from '../lib/bounded.ts';
import type { Profile, SetupContext, Slo } from '../lib/scenario.ts';
import type { Registry } from '../lib/registry.ts';
import { agentName } from '../lib/slices.ts';
import type { Target } from '../lib/stack.ts';

export function options(slo: Slo, profile: Profile) {
  const agents = profile === 'smoke' ? 50 : slo.concurrentAgents;
  const [rampUp, hold, rampDown] = profile === 'smoke' ? ['10s', '10s', '5s'] : ['1m', '2m', '30s'];
  return {
    scenarios: {
      connect: {
        executor: 'ramping-vus' as const,
        exec: 'connectHoldClose',
        startVUs: 0,
        stages: [
          { target: agents, duration: rampUp },
          { target: agents, duration: hold },
          { target: 0, duration: rampDown },
        ],
        gracefulRampDown: '5s',
        gracefulStop: '5s',
      },
    },
    thresholds: {
      connect_duration: [`p(95)<${slo.connectP95Ms}`],
      unexpected_closes: ['count<1'],
      checks: ['rate>0.99'],
    },
  };
}

/** How long one agent holds its connection before closing it. */
export const HOLD_MS = { smoke: 5_000, full: 20_000 } as const;

interface Data {
  readonly target: Target;
  readonly registry: Registry;
  readonly holdMs: number;
  readonly runId: string;
}

export async function setup({ target, registry, profile, runId }: SetupContext): Promise<Data> {
  // Created up front so a run without a single drop still reports unexpected_closes: 0.
  registry.counter('unexpected_closes').add(0);
  return { target, registry, holdMs: HOLD_MS[profile], runId };
}

export async function connectHoldClose(ctx: IterationContext, data: Data): Promise<void> {
  const { registry } = data;
  const unexpected = registry.counter('unexpected_closes');
  let agent;
  try {
    agent = await connectAgent(data.target, agentName('lt-connect', data.runId, ctx.vu, ctx.iteration), {
      onUnexpectedClose: () => unexpected.add(1, ctx.tags),
    });
  } catch (error) {
    ctx.check(error, { connected: () => false });
    throw error;
  }
  try {
    ctx.check(agent, { connected: (a) => a.client.connected });
    registry.trend('connect_duration').add(agent.connectMs, { ...ctx.tags, replica: agent.hello.replicaId });
    await sleep(data.holdMs, ctx.signal);
  } finally {
    agent.close();
  }
}

export const exec = { connectHoldClose };

export async function teardown(): Promise<void> {}

export const progressTrend = 'connect_duration';
