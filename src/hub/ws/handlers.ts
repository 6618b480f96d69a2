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
  /** The highest seq this session knows to be acknowledged, so repeated acks cost no database write. */
  readonly acks: { get(): number; set(seq: number): void };
  /** Updates what the roster shows for this session. */
  setStatus(status: { load?: number; status?: 'online' | 'busy' }): Promise<void>;
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
  /** Not counted as a request: acknowledgements follow delivered messages, and cost nothing when repeated. */
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
      if (payload.seq <= ctx.acks.get()) return { ackedSeq: ctx.acks.get() };
      const ackedSeq = await ctx.services.messages.ack(ctx.agent.agentId, payload.seq);
      ctx.acks.set(ackedSeq);
      return { ackedSeq };
    },
  },

  'dm.fetch': {
    async run(ctx, request) {
      const payload = parsePayload(dmFetchSchema, request.payload);
      const messages = await ctx.services.messages.after(ctx.agent.agentId, payload.afterSeq, payload.limit ?? 100);
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
