import { channels, type Bus } from '../bus/bus.ts';
import type { Database, Queryable } from '../db/database.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../log.ts';
import type { HubMetrics } from '../metrics.ts';
import type { Presence, RosterEntry } from '../presence/presence.ts';
import { HubError, notFound } from '../protocol/errors.ts';
import { mutate } from './idempotency.ts';

export type TaskStatus = 'pending' | 'assigned' | 'claimed' | 'completed' | 'failed';

export interface TaskView {
  readonly id: string;
  readonly status: TaskStatus;
  readonly capabilities: string[];
  readonly payload: unknown;
  readonly submitter: string;
  readonly assignedTo: string | null;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly deadlineAt: string | null;
  readonly result: unknown;
  readonly error: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Bus notifications to an agent: a task to work on, or the outcome of a task it submitted. */
export interface TaskNotice {
  readonly kind: 'task.assigned' | 'task.finished';
  readonly task: TaskView;
}

export interface TaskActor {
  readonly agentId: string;
  readonly tenantId: string;
  readonly fleetId: string;
}

interface TaskRow {
  id: string;
  fleet_id: string;
  submitter_id: string;
  capabilities: string;
  payload: string;
  status: TaskStatus;
  assigned_to: string | null;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  deadline_at: Date | null;
  tried_agents: string;
  result: string | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, fleet_id, submitter_id, capabilities, payload, status, assigned_to, attempts, max_attempts,
  timeout_ms, deadline_at, tried_agents, result, error, created_at, updated_at`;

const view = (r: TaskRow): TaskView => ({
  id: r.id,
  status: r.status,
  capabilities: JSON.parse(r.capabilities) as string[],
  payload: JSON.parse(r.payload) as unknown,
  submitter: r.submitter_id,
  assignedTo: r.assigned_to,
  attempts: Number(r.attempts),
  maxAttempts: Number(r.max_attempts),
  timeoutMs: Number(r.timeout_ms),
  deadlineAt: r.deadline_at === null ? null : new Date(r.deadline_at).toISOString(),
  result: r.result === null ? null : (JSON.parse(r.result) as unknown),
  error: r.error,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

export interface TaskDefaults {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
}

const SWEEP_BATCH = 100;

/**
 * Tasks live in Postgres. Routing picks, among the fleet's online agents that have every required
 * capability, the one with the fewest active tasks (then the lowest reported load), preferring agents
 * that have not timed out on the task before. Every state change is a conditional UPDATE, so replicas
 * routing and sweeping at the same time cannot assign a task twice.
 */
export class Tasks {
  /** Where each fleet's next routing pass resumes. */
  private readonly cursors = new Map<string, { createdAt: string; id: string }>();
  private readonly joinRouting = new Map<string, { passes: number }>();

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly presence: Presence,
    private readonly defaults: TaskDefaults,
    private readonly metrics: HubMetrics,
    private readonly log: Logger,
  ) {}

  async submit(
    actor: TaskActor,
    request: { capabilitiesJson: string; payloadJson: string; timeoutMs?: number; maxAttempts?: number },
    idempotencyKey?: string,
  ): Promise<TaskView> {
    const { result, replayed } = await mutate(this.db, actor.agentId, idempotencyKey, 'task.submit', async (tx) => {
      const id = newId('tsk');
      await tx.query(
        `INSERT INTO tasks (id, tenant_id, fleet_id, submitter_id, capabilities, payload, status, max_attempts, timeout_ms)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)`,
        [
          id,
          actor.tenantId,
          actor.fleetId,
          actor.agentId,
          request.capabilitiesJson,
          request.payloadJson,
          request.maxAttempts ?? this.defaults.maxAttempts,
          request.timeoutMs ?? this.defaults.timeoutMs,
        ],
      );
      return { id };
    });
    if (!replayed) this.metrics.tasks.inc({ event: 'submitted' });
    await this.routeFleet(actor.fleetId, [result.id]);
    return this.get(actor, result.id);
  }

  async get(actor: TaskActor, taskId: string): Promise<TaskView> {
    const [row] = await this.db.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE id = $1 AND fleet_id = $2 AND tenant_id = $3`,
      [taskId, actor.fleetId, actor.tenantId],
    );
    if (row === undefined) throw notFound(`task ${taskId} in your fleet`);
    return view(row);
  }

  /** The assignee takes the task on; its deadline restarts from now. */
  async claim(actor: TaskActor, taskId: string): Promise<TaskView> {
    const [row] = await this.db.query<TaskRow>(
      `UPDATE tasks SET status = 'claimed', deadline_at = now() + make_interval(secs => timeout_ms / 1000.0), updated_at = now()
       WHERE id = $1 AND fleet_id = $2 AND tenant_id = $3 AND assigned_to = $4 AND status = 'assigned'
       RETURNING ${COLUMNS}`,
      [taskId, actor.fleetId, actor.tenantId, actor.agentId],
    );
    if (row === undefined) throw await this.whyNot(actor, taskId, 'claim', ['assigned']);
    this.metrics.tasks.inc({ event: 'claimed' });
    return view(row);
  }

  /** The assignee reports a result or an error; the submitter is notified. */
  async finish(
    actor: TaskActor,
    taskId: string,
    outcome: { resultJson?: string; error?: string },
    idempotencyKey?: string,
  ): Promise<TaskView> {
    const { result, replayed } = await mutate(this.db, actor.agentId, idempotencyKey, 'task.result', async (tx) => {
      const [row] = await tx.query<TaskRow>(
        `UPDATE tasks SET status = $5, result = $6, error = $7, deadline_at = NULL, updated_at = now()
         WHERE id = $1 AND fleet_id = $2 AND tenant_id = $3 AND assigned_to = $4 AND status IN ('assigned', 'claimed')
         RETURNING ${COLUMNS}`,
        [
          taskId,
          actor.fleetId,
          actor.tenantId,
          actor.agentId,
          outcome.error === undefined ? 'completed' : 'failed',
          outcome.resultJson ?? null,
          outcome.error ?? null,
        ],
      );
      if (row === undefined) throw await this.whyNot(actor, taskId, 'report a result for', ['assigned', 'claimed'], tx);
      return view(row);
    });
    if (!replayed) {
      this.metrics.tasks.inc({ event: result.status });
      await this.notify(result.submitter, { kind: 'task.finished', task: result });
    }
    return result;
  }

  /** Expires overdue assignments (reassigning or failing them) and routes tasks still waiting for an agent. */
  async sweep(): Promise<void> {
    const { requeued, failed } = await this.db.transaction(async (tx) => {
      const overdue = await tx.query<TaskRow>(
        `SELECT ${COLUMNS} FROM tasks WHERE status IN ('assigned', 'claimed') AND deadline_at < now()
         ORDER BY deadline_at LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED`,
      );
      const requeued: TaskRow[] = [];
      const failed: TaskView[] = [];
      for (const task of overdue) {
        const tried = [...new Set([...(JSON.parse(task.tried_agents) as string[]), task.assigned_to ?? ''])].filter(
          Boolean,
        );
        if (Number(task.attempts) >= Number(task.max_attempts)) {
          const [row] = await tx.query<TaskRow>(
            `UPDATE tasks SET status = 'failed', error = $2, deadline_at = NULL, tried_agents = $3, updated_at = now()
             WHERE id = $1 RETURNING ${COLUMNS}`,
            [task.id, `timed out after ${task.attempts} attempt(s) of ${task.timeout_ms} ms`, JSON.stringify(tried)],
          );
          failed.push(view(row!));
        } else {
          await tx.query(
            `UPDATE tasks SET status = 'pending', assigned_to = NULL, deadline_at = NULL, tried_agents = $2, updated_at = now()
             WHERE id = $1`,
            [task.id, JSON.stringify(tried)],
          );
          requeued.push(task);
        }
      }
      return { requeued, failed };
    });
    this.metrics.tasks.inc({ event: 'timed_out' }, requeued.length + failed.length);
    this.metrics.tasks.inc({ event: 'failed' }, failed.length);
    for (const task of failed) await this.notify(task.submitter, { kind: 'task.finished', task });

    const fleets = await this.db.query<{ fleet_id: string }>(
      `SELECT DISTINCT fleet_id FROM tasks WHERE status = 'pending'`,
    );
    for (const { fleet_id } of fleets) await this.routePending(fleet_id);
  }

  /**
   * Routes waiting tasks once an agent joined, one batch per join as before, but one pass at a time
   * per fleet, and no more passes once one finds less than a batch waiting: a fleet that reconnects
   * at once with nothing queued costs one query, not one per agent.
   */
  async routeAfterJoin(fleetId: string): Promise<void> {
    const running = this.joinRouting.get(fleetId);
    if (running !== undefined) {
      running.passes++;
      return;
    }
    const pending = { passes: 1 };
    this.joinRouting.set(fleetId, pending);
    try {
      while (pending.passes > 0) {
        pending.passes--;
        if (!(await this.routePending(fleetId))) break;
      }
    } finally {
      this.joinRouting.delete(fleetId);
    }
  }

  /**
   * Routes the next batch of the fleet's waiting tasks, e.g. when an agent that may take them joins.
   * Each call resumes after the last task the previous one looked at and wraps around, so tasks no
   * agent can take never hide the ones behind them; each fleet gets its own turn, so no tenant's
   * backlog delays another's. Fleets are created only by operators, which bounds the turns. True
   * when it found a whole batch waiting, so more may wait behind it.
   */
  async routePending(fleetId: string): Promise<boolean> {
    const cursor = this.cursors.get(fleetId) ?? { createdAt: '-infinity', id: '' };
    // The timestamp travels as text to keep its microseconds: a cursor rounded to milliseconds could repeat rows.
    const pending = await this.db.query<{ id: string; created_at: string }>(
      `SELECT id, created_at::text FROM tasks
       WHERE fleet_id = $1 AND status = 'pending' AND (created_at, id) > ($2::timestamptz, $3)
       ORDER BY created_at, id LIMIT ${SWEEP_BATCH}`,
      [fleetId, cursor.createdAt, cursor.id],
    );
    const last = pending.at(-1);
    if (pending.length < SWEEP_BATCH || last === undefined) this.cursors.delete(fleetId);
    else this.cursors.set(fleetId, { createdAt: last.created_at, id: last.id });
    await this.routeFleet(
      fleetId,
      pending.map((p) => p.id),
    );
    return pending.length === SWEEP_BATCH;
  }

  /** Assigns pending tasks of one fleet to the best online agents. */
  async routeFleet(fleetId: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    const roster = await this.presence.roster(fleetId);
    if (roster.length === 0) return;
    const load = new Map<string, number>();
    const active = await this.db.query<{ assigned_to: string; n: string | number }>(
      `SELECT assigned_to, count(*) AS n FROM tasks WHERE fleet_id = $1 AND status IN ('assigned', 'claimed') GROUP BY assigned_to`,
      [fleetId],
    );
    for (const row of active) load.set(row.assigned_to, Number(row.n));
    const tasks = await this.db.query<TaskRow>(
      `SELECT ${COLUMNS} FROM tasks WHERE id = ANY($1::text[]) AND fleet_id = $2 AND status = 'pending' ORDER BY created_at`,
      [taskIds, fleetId],
    );
    for (const task of tasks) {
      const agent = pickAgent(
        roster,
        JSON.parse(task.capabilities) as string[],
        JSON.parse(task.tried_agents) as string[],
        load,
      );
      if (agent === undefined) continue;
      const [row] = await this.db.query<TaskRow>(
        `UPDATE tasks SET status = 'assigned', assigned_to = $2, attempts = attempts + 1,
           deadline_at = now() + make_interval(secs => timeout_ms / 1000.0), updated_at = now()
         WHERE id = $1 AND status = 'pending' RETURNING ${COLUMNS}`,
        [task.id, agent.agentId],
      );
      if (row === undefined) continue;
      load.set(agent.agentId, (load.get(agent.agentId) ?? 0) + 1);
      this.metrics.tasks.inc({ event: 'assigned' });
      await this.notify(agent.agentId, { kind: 'task.assigned', task: view(row) });
    }
  }

  private async notify(agentId: string, notice: TaskNotice): Promise<void> {
    await this.bus.publish(channels.agent(agentId), notice).catch((error: unknown) => {
      this.log.warn({ err: error, agentId, taskId: notice.task.id }, 'could not notify an agent about a task');
    });
  }

  /** Explains why a task transition was refused, without revealing tasks outside the caller's fleet. */
  private async whyNot(
    actor: TaskActor,
    taskId: string,
    action: string,
    allowed: readonly TaskStatus[],
    tx: Queryable = this.db,
  ): Promise<HubError> {
    const [row] = await tx.query<{ status: TaskStatus; assigned_to: string | null }>(
      'SELECT status, assigned_to FROM tasks WHERE id = $1 AND fleet_id = $2 AND tenant_id = $3',
      [taskId, actor.fleetId, actor.tenantId],
    );
    if (row === undefined) return notFound(`task ${taskId} in your fleet`);
    if (row.assigned_to !== actor.agentId) return new HubError('conflict', `task ${taskId} is not assigned to you`);
    return new HubError(
      'conflict',
      `cannot ${action} task ${taskId}: it is ${row.status}, not ${allowed.join(' or ')}`,
    );
  }
}

/** Capability match first, then agents not yet tried, then fewest active tasks, lowest load, busy last. */
export function pickAgent(
  roster: readonly RosterEntry[],
  required: readonly string[],
  tried: readonly string[],
  activeTasks: ReadonlyMap<string, number>,
): RosterEntry | undefined {
  const capable = roster.filter((agent) => required.every((c) => agent.capabilities.includes(c)));
  const fresh = capable.filter((agent) => !tried.includes(agent.agentId));
  const candidates = fresh.length > 0 ? fresh : capable;
  return [...candidates].sort(
    (a, b) =>
      Number(a.status === 'busy') - Number(b.status === 'busy') ||
      (activeTasks.get(a.agentId) ?? 0) - (activeTasks.get(b.agentId) ?? 0) ||
      a.load - b.load ||
      a.agentId.localeCompare(b.agentId),
  )[0];
}
