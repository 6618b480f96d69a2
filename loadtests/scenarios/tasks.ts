/*
 * Tasks: submitters create tasks at a constant arrival rate, each carrying the time it was created;
 * the hub routes them to worker agents (the only ones with the capability), which claim each one and
 * report a result at once. In this same process the workers record create→assigned and
 * create→claimed, and the submitters, told by `task.finished`, create→completed. Each task must be
 * completed exactly once: claimed by one worker, finished once, completed.
 */
import type { TaskView } from '../../src/hub/client/types.ts';
import { connectMany, type Agent } from '../lib/agents.ts';
import { withTimeout } from '../lib/bounded.ts';
import type { IterationContext } from '../lib/executors.ts';
import type { Registry } from '../lib/registry.ts';
import type { Profile, SetupContext, Slo } from '../lib/scenario.ts';
import { agentNames, agentShare } from '../lib/slices.ts';
import { provisionOwnTenant } from '../lib/tenancy.ts';

const SIZES = {
  smoke: { submitters: 5, workers: 10, rate: 20, duration: '20s' },
  full: { submitters: 20, workers: 100, rate: 200, duration: '2m' },
} as const;
const CAPABILITY = 'loadtest-worker';
/** The hub fails a task no worker finished within this long; one attempt, so no silent retry hides it. */
const TASK_TIMEOUT_MS = 10_000;
/** How long a submitter waits for `task.finished`: the hub's timeout plus its sweep interval and slack. */
const FINISH_TIMEOUT_MS = 15_000;
const REQUEST_DEADLINE_MS = 5_000;

export function options(slo: Slo, profile: Profile) {
  const size = SIZES[profile];
  return {
    scenarios: {
      tasks: {
        executor: 'constant-arrival-rate' as const,
        exec: 'submitTask',
        rate: size.rate,
        timeUnit: '1s',
        duration: size.duration,
        preAllocatedVUs: size.rate,
        maxVUs: size.rate * 5,
        gracefulStop: '20s',
      },
    },
    thresholds: {
      // Assignment takes the path of a DM: stored in Postgres, then pushed to an agent on either hub.
      task_assign_latency: [`p(95)<${slo.dmDeliveryP95Ms}`],
      // Three such legs one after the other: assigned, claimed, and the result stored and pushed back.
      task_complete_latency: [`p(95)<${3 * slo.dmDeliveryP95Ms}`],
      tasks_completed_once: [`rate>=${1 - slo.maxErrorRate}`],
      checks: ['rate>0.99'],
    },
  };
}

interface Body {
  readonly sentAt: number;
  readonly id: string;
}

interface Data {
  readonly submitters: readonly Agent[];
  readonly workers: readonly Agent[];
  /** Resolvers of the iterations waiting for their task to finish, by the id in its payload. */
  readonly waiting: Map<string, (task: TaskView) => void>;
  /** Claims that succeeded, by task payload id: a task worked on twice shows here. */
  readonly claims: Map<string, number>;
  /** `task.finished` events received, by task payload id. */
  readonly finishes: Map<string, number>;
  readonly registry: Registry;
}

function bodyOf(task: unknown): Body | undefined {
  const payload = (task as { payload?: Partial<Body> } | undefined)?.payload;
  return typeof payload?.sentAt === 'number' && typeof payload.id === 'string' ? (payload as Body) : undefined;
}

const increment = (counts: Map<string, number>, id: string) => counts.set(id, (counts.get(id) ?? 0) + 1);

export async function setup({ target, registry, profile, slice, runId }: SetupContext): Promise<Data> {
  const size = SIZES[profile];
  // A tenant of its own: no agent of another run can be handed this run's tasks.
  const own = await provisionOwnTenant(target, `lt-tasks-${runId}`);
  const unexpected = registry.counter('unexpected_closes');
  const onUnexpectedClose = () => unexpected.add(1);
  const workers = await connectMany(
    own.target,
    agentNames('lt-worker', runId, agentShare(size.workers, slice, 'task workers')),
    20,
    { onUnexpectedClose, capabilities: [CAPABILITY] },
  );
  let submitters: Agent[] = [];
  try {
    submitters = await connectMany(
      own.target,
      agentNames('lt-submitter', runId, agentShare(size.submitters, slice, 'task submitters')),
      20,
      { onUnexpectedClose },
    );
  } catch (error) {
    for (const worker of workers) worker.close();
    throw error;
  }
  for (const name of ['tasks_created', 'tasks_completed', 'tasks_failed', 'tasks_timeouts']) {
    registry.counter(name).add(0);
  }
  const data: Data = { submitters, workers, waiting: new Map(), claims: new Map(), finishes: new Map(), registry };
  for (const worker of workers) work(worker, data);
  for (const submitter of submitters) awaitFinishes(submitter, data);
  return data;
}

/** A worker claims each task assigned to it and reports its result straight away. */
function work(worker: Agent, data: Data): void {
  const { registry } = data;
  const tags = { scenario: 'tasks', replica: worker.hello.replicaId };
  worker.client.on('event', (event, task) => {
    const body = bodyOf(task);
    if (event !== 'task.assigned' || body === undefined) return;
    registry.trend('task_assign_latency').add(performance.now() - body.sentAt, tags);
    const taskId = (task as TaskView).id;
    void (async () => {
      try {
        await worker.client.request('task.claim', { taskId });
        registry.trend('task_claim_latency').add(performance.now() - body.sentAt, tags);
        increment(data.claims, body.id);
        await worker.client.call(
          'task.result',
          { taskId, result: { id: body.id } },
          { deadlineMs: REQUEST_DEADLINE_MS },
        );
        registry.check(true, { 'task worked on': (ok) => ok }, tags);
      } catch {
        registry.check(false, { 'task worked on': (ok) => ok }, tags);
      }
    })();
  });
}

function awaitFinishes(submitter: Agent, data: Data): void {
  const tags = { scenario: 'tasks', replica: submitter.hello.replicaId };
  submitter.client.on('event', (event, task) => {
    const receivedAt = performance.now();
    const body = bodyOf(task);
    if (event !== 'task.finished' || body === undefined) return;
    if ((task as TaskView).status === 'completed') {
      data.registry.trend('task_complete_latency').add(receivedAt - body.sentAt, tags);
    }
    increment(data.finishes, body.id);
    data.waiting.get(body.id)?.(task as TaskView);
  });
}

/** The hub's own timeout ends a task as `failed` with an error saying so. */
const timedOutByHub = (task: TaskView) => task.status === 'failed' && /^timed out/.test(task.error ?? '');

export async function submitTask(ctx: IterationContext, data: Data): Promise<void> {
  const { registry } = data;
  const submitter = data.submitters[ctx.iteration % data.submitters.length]!;
  const id = `${ctx.iteration}`;
  const finished = new Promise<TaskView>((resolve) => data.waiting.set(id, resolve));
  const tags = { ...ctx.tags, replica: submitter.hello.replicaId };
  let outcome: TaskView | undefined;
  try {
    const { task } = await submitter.client.call<{ task: TaskView }>(
      'task.submit',
      {
        capabilities: [CAPABILITY],
        payload: { sentAt: performance.now(), id } satisfies Body,
        timeoutMs: TASK_TIMEOUT_MS,
        maxAttempts: 1,
      },
      { deadlineMs: REQUEST_DEADLINE_MS },
    );
    registry.counter('tasks_created').add(1, tags);
    ctx.check(task, { 'task submitted': (t) => t.status !== 'failed' });
    outcome = await withTimeout(finished, FINISH_TIMEOUT_MS, `task ${id}`).catch(() => undefined);
  } catch (error) {
    ctx.check(error, { 'task submitted': () => false });
    throw error;
  } finally {
    data.waiting.delete(id);
    const completedOnce = outcome?.status === 'completed' && data.claims.get(id) === 1 && data.finishes.get(id) === 1;
    registry.rate('tasks_completed_once').add(completedOnce, tags);
  }
  if (outcome === undefined || timedOutByHub(outcome)) registry.counter('tasks_timeouts').add(1, tags);
  else if (outcome.status === 'completed') registry.counter('tasks_completed').add(1, tags);
  else registry.counter('tasks_failed').add(1, tags);
}

export const exec = { submitTask };

export async function teardown(data: Data): Promise<void> {
  for (const agent of [...data.submitters, ...data.workers]) agent.close();
}

export const progressTrend = 'task_complete_latency';
