/*
 * Schemas of everything the hub sends: the payload of each request type's reply, of each pushed event,
 * the error body and the frames around them. They describe what the code builds today (session.ts,
 * handlers.ts, the services) and are strict, so a field the hub sends without documenting it fails
 * validation. `npm run hub:protocol` turns them into src/hub/asyncapi.json and PROTOCOL.md.
 */
import { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import { LIMITS, PRESENCE_LISTED_MAX, RULES } from './limits.ts';

const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{1,64}$`));
const agentId = id('ag');
const taskId = id('tsk');
/** Every timestamp the hub sends is `Date.prototype.toISOString()`: UTC, milliseconds, `Z`. */
const timestamp = z.iso.datetime();
const seq = z.int().min(1);
const position = z.int().min(0);
/** A value the agent sent as JSON, returned as it was. */
const anyJson = z.unknown();
const agentName = z.string().min(1).max(LIMITS.agentNameChars);
const tags = z.array(z.string().min(1).max(LIMITS.tagChars)).max(LIMITS.tagsPerItem);
const memoryKey = z.string().min(1).max(LIMITS.memoryKeyChars);

// ---- shared objects --------------------------------------------------------------------------------

export const TASK_STATUSES = ['pending', 'assigned', 'claimed', 'completed', 'failed'] as const;

/** services/tasks.ts TaskView. */
export const taskViewSchema = z.strictObject({
  id: taskId,
  status: z.enum(TASK_STATUSES),
  capabilities: tags,
  payload: anyJson,
  submitter: agentId,
  assignedTo: agentId.nullable(),
  attempts: position,
  maxAttempts: z.int().min(1).max(100),
  timeoutMs: z.int().min(100).max(86_400_000),
  deadlineAt: timestamp.nullable(),
  result: anyJson,
  error: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

/** presence/presence.ts RosterEntry without `replicaId`, which the roster handler strips. */
export const rosterEntrySchema = z.strictObject({
  agentId,
  name: agentName,
  capabilities: tags,
  tags,
  status: z.enum(['online', 'busy']),
  load: z.number().min(0).max(1_000_000),
  joinedAt: timestamp,
});

/** services/messages.ts DirectMessage: the `dm` event and the entries of a `dm.fetch` reply. */
export const directMessageSchema = z.strictObject({
  seq,
  from: agentId,
  body: anyJson,
  sentAt: timestamp,
});

/** services/memory.ts MemoryListing. */
export const memoryListingSchema = z.strictObject({
  key: memoryKey,
  version: seq,
  updatedBy: agentId,
  updatedAt: timestamp,
  bytes: position,
});

/** Per-minute allowances of one rate rule in each scope it is counted in. */
export const rateAllowanceSchema = z.strictObject({
  agent: z.int().min(1),
  key: z.int().min(1),
  tenant: z.int().min(1),
});

// ---- errors ----------------------------------------------------------------------------------------

/** Every ErrorCode exactly once (the Record type makes a missing or unknown code a type error). */
const ERROR_CODE_SET: Record<ErrorCode, true> = {
  invalid_frame: true,
  invalid_envelope: true,
  unknown_type: true,
  unauthenticated: true,
  unauthorized: true,
  already_authenticated: true,
  invalid_request: true,
  limit_exceeded: true,
  rate_limited: true,
  not_found: true,
  conflict: true,
  idempotency_key_reused: true,
  overloaded: true,
  draining: true,
  internal: true,
};
export const ERROR_CODES = Object.keys(ERROR_CODE_SET) as [ErrorCode, ...ErrorCode[]];

/** The rules of rate_limited errors, also the keys of the hello reply's `rateLimits`. */
export const RATE_RULES = ['rate_requests', 'rate_messages', 'rate_tasks', 'rate_memory_writes'] as const;

/** Every `rule` an error can name: the input limits, the rate rules and the failed-authentication rule. */
export const ERROR_RULES = [...Object.keys(RULES), ...RATE_RULES, 'auth_failures'] as string[] as [string, ...string[]];

/** protocol/errors.ts ErrorBody. */
export const errorBodySchema = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  rule: z.enum(ERROR_RULES).optional(),
  scope: z.enum(['agent', 'key', 'tenant', 'address']).optional(),
  retryAfterMs: z.int().min(0).optional(),
});

// ---- reply payloads --------------------------------------------------------------------------------

const limitsShape = Object.fromEntries(Object.entries(LIMITS).map(([name, value]) => [name, z.literal(value)])) as {
  [K in keyof typeof LIMITS]: z.ZodLiteral<(typeof LIMITS)[K]>;
};

export const helloReplySchema = z.strictObject({
  agentId,
  tenantId: id('ten'),
  fleetId: id('flt'),
  replicaId: z.string().min(1),
  connectionId: id('conn'),
  dmSeq: position,
  ackedSeq: position,
  resumeAfter: position,
  heartbeatIntervalMs: z.int().min(1),
  /** protocol/limits.ts LIMITS, as is. */
  limits: z.strictObject(limitsShape),
  rateLimits: z.strictObject({
    rate_requests: rateAllowanceSchema,
    rate_messages: rateAllowanceSchema,
    rate_tasks: rateAllowanceSchema,
    rate_memory_writes: rateAllowanceSchema,
  }),
});

export const heartbeatReplySchema = z.strictObject({ serverTime: timestamp });
export const rosterReplySchema = z.strictObject({ fleetId: id('flt'), agents: z.array(rosterEntrySchema) });
export const dmSendReplySchema = z.strictObject({ to: agentId, seq, sentAt: timestamp });
export const dmAckReplySchema = z.strictObject({ ackedSeq: position });
export const dmFetchReplySchema = z.strictObject({ messages: z.array(directMessageSchema) });
export const broadcastReplySchema = z.strictObject({ at: timestamp });
export const memorySetReplySchema = z.strictObject({ key: memoryKey, version: seq });
/** services/memory.ts MemoryEntry. */
export const memoryGetReplySchema = z.strictObject({
  key: memoryKey,
  value: anyJson,
  version: seq,
  updatedBy: agentId,
  updatedAt: timestamp,
});
export const memoryListReplySchema = z.strictObject({
  entries: z.array(memoryListingSchema),
  /** Present when there are more keys: pass it as `after` for the next page. */
  next: memoryKey.optional(),
});
export const memoryDeleteReplySchema = z.strictObject({ key: memoryKey, deleted: z.boolean() });
/** The reply of task.submit, task.get, task.claim and task.result. */
export const taskReplySchema = z.strictObject({ task: taskViewSchema });

/** The payload of a successful reply, by request type. */
export const replyPayloadSchemas = {
  hello: helloReplySchema,
  heartbeat: heartbeatReplySchema,
  'presence.roster': rosterReplySchema,
  'dm.send': dmSendReplySchema,
  'dm.ack': dmAckReplySchema,
  'dm.fetch': dmFetchReplySchema,
  'activity.broadcast': broadcastReplySchema,
  'memory.set': memorySetReplySchema,
  'memory.get': memoryGetReplySchema,
  'memory.list': memoryListReplySchema,
  'memory.delete': memoryDeleteReplySchema,
  'task.submit': taskReplySchema,
  'task.get': taskReplySchema,
  'task.claim': taskReplySchema,
  'task.result': taskReplySchema,
} as const;

export type RequestType = keyof typeof replyPayloadSchemas;
export const REQUEST_TYPES = Object.keys(replyPayloadSchemas) as RequestType[];

// ---- event payloads --------------------------------------------------------------------------------

const presenceMemberSchema = z.strictObject({ agentId, name: agentName });
export const presenceEventSchema = z.strictObject({
  joined: z.array(presenceMemberSchema).max(PRESENCE_LISTED_MAX),
  left: z.array(presenceMemberSchema).max(PRESENCE_LISTED_MAX),
  /** More agents changed in the window than an event lists: both lists are empty, read `presence.roster`. */
  resync: z.boolean(),
});

export const activityEventSchema = z.strictObject({
  from: agentId,
  fromName: agentName,
  activity: z.strictObject({
    kind: z.string().min(1).max(100),
    data: anyJson,
    tags,
  }),
  at: timestamp,
});

/** The payload of each event, by event name. */
export const eventPayloadSchemas = {
  dm: directMessageSchema,
  activity: activityEventSchema,
  'presence.changed': presenceEventSchema,
  'task.assigned': taskViewSchema.extend({ status: z.literal('assigned') }),
  'task.finished': taskViewSchema.extend({ status: z.enum(['completed', 'failed']) }),
} as const;

export type EventName = keyof typeof eventPayloadSchemas;
export const EVENT_NAMES = Object.keys(eventPayloadSchemas) as EventName[];

// ---- frames ----------------------------------------------------------------------------------------

/** The request's `id`, or null when the frame carried no usable one (envelope.ts salvageId). */
const replyId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/)
  .nullable();

export const replyFrame = <S extends z.ZodType>(payload: S) =>
  z.strictObject({ type: z.literal('reply'), id: replyId, ok: z.literal(true), payload });

export const errorFrameSchema = z.strictObject({
  type: z.literal('reply'),
  id: replyId,
  ok: z.literal(false),
  error: errorBodySchema,
});

export const eventFrame = <N extends string, S extends z.ZodType>(event: N, payload: S) =>
  z.strictObject({ type: z.literal('event'), event: z.literal(event), payload });
