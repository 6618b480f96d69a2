import { channels } from '../bus/bus.ts';
import { HubError } from '../protocol/errors.ts';
import type { Request } from '../protocol/envelope.ts';
import { parsePayload } from '../protocol/envelope.ts';
import { checkMemoryKey, checkMemoryPrefix, checkTags, jsonWithin, LIMITS } from '../protocol/limits.ts';
import {
  broadcastSchema,
  dmAckSchema,
  dmFetchSchema,
  dmSendSchema,
  emptySchema,
  heartbeatSchema,
  memoryKeySchema,
  memoryListSchema,
  memorySetSchema,
  taskRefSchema,
  taskResultSchema,
  taskSubmitSchema,
} from '../protocol/requests.ts';
import type { RateRule } from '../rate-limit.ts';
import type { Services } from '../services/services.ts';
import type { AgentIdentity } from './agent.ts';

/** What a handler may know about the session that sent the request. */
export interface HandlerContext {
  readonly agent: AgentIdentity;
  readonly services: Services;
  /** What the session knows of its DM sequence, so that only acks that can advance reach the database. */
  readonly dms: DmPosition;
  /** Updates what the roster shows for this session. */
  setStatus(status: { load?: number; status?: 'online' | 'busy' }): Promise<void>;
}

/** What a session knows of its agent's DM sequence. */
export class DmPosition {
  /** The highest seq acknowledged. */
  acked = 0;
  /** The highest seq the session has seen exist: stored before hello, delivered or fetched since. */
  known = 0;

  acknowledged(seq: number): void {
    this.acked = Math.max(this.acked, seq);
  }

  seen(seq: number): void {
    this.known = Math.max(this.known, seq);
  }
}

/** Activity fanned out to a fleet over the bus. */
export interface ActivityNotice {
  readonly kind: 'activity';
  readonly from: string;
  readonly fromName: string;
  readonly activity: { readonly kind: string; readonly data: unknown; readonly tags: readonly string[] };
  readonly at: string;
}

interface Handler {
  /** The rate rule the request spends, besides `requests`. */
  readonly rate?: RateRule;
  /**
   * Not counted as a request: acknowledgements follow delivered messages (a busy agent acks many
   * times a minute), and only one that advances past the acked seq, up to a seq the session has seen,
   * reaches the database; so their cost is bounded by the messages the agent receives.
   */
  readonly uncounted?: true;
  run(ctx: HandlerContext, request: Request): Promise<unknown>;
}

/** Every request type an authenticated agent may send (`hello` is handled by the session itself). */
export const handlers: Readonly<Record<string, Handler>> = {
  heartbeat: {
    async run(ctx, request) {
      const payload = parsePayload(heartbeatSchema, request.payload);
      await ctx.setStatus(payload);
      return { serverTime: new Date().toISOString() };
    },
  },

  'presence.roster': {
    async run(ctx, request) {
      parsePayload(emptySchema, request.payload);
      const agents = await ctx.services.presence.roster(ctx.agent.fleetId);
      return { fleetId: ctx.agent.fleetId, agents: agents.map(({ replicaId: _r, ...agent }) => agent) };
    },
  },

  'dm.send': {
    rate: 'messages',
    async run(ctx, request) {
      const payload = parsePayload(dmSendSchema, request.payload);
      const body = jsonWithin(payload.body, LIMITS.messageBytes, 'message_size', 'payload.body');
      const receipt = await ctx.services.messages.send(ctx.agent, payload.to, body, request.idempotencyKey);
      ctx.services.metrics.messages.inc({ kind: 'dm' });
      return receipt;
    },
  },

  'dm.ack': {
    uncounted: true,
    async run(ctx, request) {
      const payload = parsePayload(dmAckSchema, request.payload);
      if (payload.seq <= ctx.dms.acked) return { ackedSeq: ctx.dms.acked };
      if (payload.seq > ctx.dms.known) {
        throw new HubError('invalid_request', `payload.seq: ${payload.seq} is beyond the last message sent to you`);
      }
      const ackedSeq = await ctx.services.messages.ack(ctx.agent.agentId, payload.seq);
      ctx.dms.acknowledged(ackedSeq);
      return { ackedSeq };
    },
  },

  'dm.fetch': {
    async run(ctx, request) {
      const payload = parsePayload(dmFetchSchema, request.payload);
      const limit = payload.limit ?? 100;
      const messages = await ctx.services.messages.after(ctx.agent.agentId, payload.afterSeq, limit, LIMITS.frameBytes);
      const last = messages.at(-1);
      if (last !== undefined) ctx.dms.seen(last.seq);
      return { messages };
    },
  },

  'activity.broadcast': {
    rate: 'messages',
    async run(ctx, request) {
      const payload = parsePayload(broadcastSchema, request.payload);
      const tags = payload.tags ?? [];
      checkTags(tags, 'payload.tags');
      jsonWithin(payload.data, LIMITS.messageBytes, 'message_size', 'payload.data');
      const notice: ActivityNotice = {
        kind: 'activity',
        from: ctx.agent.agentId,
        fromName: ctx.agent.name,
        activity: { kind: payload.kind ?? 'activity', data: payload.data, tags },
        at: new Date().toISOString(),
      };
      await ctx.services.bus.publish(channels.fleet(ctx.agent.fleetId), notice);
      ctx.services.metrics.messages.inc({ kind: 'broadcast' });
      return { at: notice.at };
    },
  },

  'memory.set': {
    rate: 'memoryWrites',
    async run(ctx, request) {
      const payload = parsePayload(memorySetSchema, request.payload);
      checkMemoryKey(payload.key);
      const value = jsonWithin(payload.value, LIMITS.memoryValueBytes, 'memory_value_size', 'payload.value');
      return ctx.services.memory.set(ctx.agent, payload.key, value, payload.ifVersion, request.idempotencyKey);
    },
  },

  'memory.get': {
    async run(ctx, request) {
      const payload = parsePayload(memoryKeySchema, request.payload);
      checkMemoryKey(payload.key);
      return ctx.services.memory.get(ctx.agent, payload.key);
    },
  },

  'memory.list': {
    async run(ctx, request) {
      const payload = parsePayload(memoryListSchema, request.payload);
      checkMemoryPrefix(payload.prefix);
      if (payload.after !== undefined) checkMemoryKey(payload.after, 'payload.after');
      return ctx.services.memory.list(ctx.agent, payload.prefix, payload.after, payload.limit ?? 100);
    },
  },

  'memory.delete': {
    rate: 'memoryWrites',
    async run(ctx, request) {
      const payload = parsePayload(memoryKeySchema, request.payload);
      checkMemoryKey(payload.key);
      return ctx.services.memory.delete(ctx.agent, payload.key, request.idempotencyKey);
    },
  },

  'task.submit': {
    rate: 'tasks',
    async run(ctx, request) {
      const payload = parsePayload(taskSubmitSchema, request.payload);
      checkTags(payload.capabilities, 'payload.capabilities');
      const task = await ctx.services.tasks.submit(
        ctx.agent,
        {
          capabilitiesJson: JSON.stringify([...new Set(payload.capabilities)]),
          payloadJson: jsonWithin(payload.payload, LIMITS.taskPayloadBytes, 'task_payload_size', 'payload.payload'),
          timeoutMs: payload.timeoutMs,
          maxAttempts: payload.maxAttempts,
        },
        request.idempotencyKey,
      );
      return { task };
    },
  },

  'task.get': {
    async run(ctx, request) {
      const payload = parsePayload(taskRefSchema, request.payload);
      return { task: await ctx.services.tasks.get(ctx.agent, payload.taskId) };
    },
  },

  'task.claim': {
    async run(ctx, request) {
      const payload = parsePayload(taskRefSchema, request.payload);
      return { task: await ctx.services.tasks.claim(ctx.agent, payload.taskId) };
    },
  },

  'task.result': {
    async run(ctx, request) {
      const payload = parsePayload(taskResultSchema, request.payload);
      if ((payload.result === undefined) === (payload.error === undefined)) {
        throw new HubError('invalid_request', 'payload: give exactly one of result and error');
      }
      const outcome =
        payload.error !== undefined
          ? { error: payload.error }
          : { resultJson: jsonWithin(payload.result, LIMITS.taskResultBytes, 'task_result_size', 'payload.result') };
      const task = await ctx.services.tasks.finish(ctx.agent, payload.taskId, outcome, request.idempotencyKey);
      return { task };
    },
  },
};
