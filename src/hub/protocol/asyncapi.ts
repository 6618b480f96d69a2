/*
 * The hub protocol as an AsyncAPI 3.0 document, and the Markdown section of PROTOCOL.md that
 * summarizes it, both built from the zod schemas the hub itself uses (requests.ts) or that describe
 * what it sends (replies.ts). `npm run hub:protocol` writes them; a test checks they are current and
 * that real traffic matches them.
 */
import { z } from 'zod';
import { handlers } from '../ws/handlers.ts';
import { LIMITS, RULES, type Rule } from './limits.ts';
import { requestToken } from './envelope.ts';
import {
  errorBodySchema,
  errorFrameSchema,
  eventFrame,
  eventPayloadSchemas,
  EVENT_NAMES,
  directMessageSchema,
  memoryListingSchema,
  rateAllowanceSchema,
  replyFrame,
  replyPayloadSchemas,
  REQUEST_TYPES,
  rosterEntrySchema,
  taskViewSchema,
  type EventName,
  type RequestType,
} from './replies.ts';
import {
  broadcastSchema,
  dmAckSchema,
  dmFetchSchema,
  dmSendSchema,
  emptySchema,
  heartbeatSchema,
  helloSchema,
  memoryKeySchema,
  memoryListSchema,
  memorySetSchema,
  taskRefSchema,
  taskResultSchema,
  taskSubmitSchema,
} from './requests.ts';

export const PROTOCOL_TITLE = 'RingForge hub protocol';
/** The protocol's version: bump it when a message changes incompatibly. */
export const PROTOCOL_VERSION = '1.0.0';

export type JsonSchema = { [keyword: string]: unknown };

/** A limit rule that a handler checks on a payload field beyond its zod shape (see limits.ts). */
interface FieldRule {
  readonly rule: Rule;
  /** JSON Schema keywords that state what the rule allows, where JSON Schema can say it. */
  readonly schema?: JsonSchema;
}

const PRINTABLE_ASCII = '^[\\x20-\\x7e]+$';
const RULE_SCHEMAS: Partial<Record<Rule, JsonSchema>> = {
  agent_name: { minLength: 1, maxLength: LIMITS.agentNameChars },
  tags: { maxItems: LIMITS.tagsPerItem, items: { type: 'string', minLength: 1, maxLength: LIMITS.tagChars } },
  memory_key: { minLength: 1, maxLength: LIMITS.memoryKeyChars, pattern: PRINTABLE_ASCII },
};
const rule = (name: Rule, schema = RULE_SCHEMAS[name]): FieldRule => ({ rule: name, schema });
const FIRST_REPLY = 'a repeat with the same `idempotencyKey` takes no effect and returns the first reply';

interface RequestSpec {
  readonly payload: z.ZodType;
  readonly summary: string;
  /** Payload fields (dotted paths) held to a named limit rule by the handler. */
  readonly rules?: Readonly<Record<string, FieldRule>>;
  /** JSON Schema keywords for the payload that state what the handler checks in code. */
  readonly checks?: JsonSchema;
  /** What a repeat with the same `idempotencyKey` answers, for the requests that honour one. */
  readonly idempotent?: string;
  /** The message that a successful reply is; requests with the same reply shape share one. */
  readonly reply: string;
}

/** Every request type: the payload schema its handler parses, and what it answers. */
export const REQUESTS: Readonly<Record<RequestType, RequestSpec>> = {
  hello: {
    payload: helloSchema,
    summary:
      'Authenticates the session; must be the first request. A refused key is answered and the socket closed (4001).',
    rules: {
      'agent.name': rule('agent_name'),
      'agent.capabilities': rule('tags'),
      'agent.tags': rule('tags'),
    },
    reply: 'reply.hello',
  },
  heartbeat: {
    payload: heartbeatSchema,
    summary: 'Keeps the roster entry fresh and updates the status and load it shows.',
    reply: 'reply.heartbeat',
  },
  'presence.roster': {
    payload: emptySchema,
    summary: 'The online agents of the fleet.',
    reply: 'reply.presence.roster',
  },
  'dm.send': {
    payload: dmSendSchema,
    summary: 'Stores a direct message for an agent of the same fleet and delivers it as a `dm` event.',
    rules: { body: rule('message_size') },
    idempotent: FIRST_REPLY,
    reply: 'reply.dm.send',
  },
  'dm.ack': {
    payload: dmAckSchema,
    summary: 'Acknowledges every direct message up to `seq`.',
    reply: 'reply.dm.ack',
  },
  'dm.fetch': {
    payload: dmFetchSchema,
    summary: 'Direct messages after `afterSeq`, oldest first (100 unless `limit` says otherwise).',
    reply: 'reply.dm.fetch',
  },
  'activity.broadcast': {
    payload: broadcastSchema,
    summary: 'Sends an `activity` event to every other agent of the fleet (`kind` defaults to `activity`).',
    rules: { kind: rule('text'), data: rule('message_size'), tags: rule('tags') },
    reply: 'reply.activity.broadcast',
  },
  'memory.set': {
    payload: memorySetSchema,
    summary: 'Writes a key of the fleet memory; `ifVersion` makes it a compare-and-set (0: only if absent).',
    rules: { key: rule('memory_key'), value: rule('memory_value_size') },
    idempotent: FIRST_REPLY,
    reply: 'reply.memory.set',
  },
  'memory.get': {
    payload: memoryKeySchema,
    summary: 'Reads a key of the fleet memory.',
    rules: { key: rule('memory_key') },
    reply: 'reply.memory.get',
  },
  'memory.list': {
    payload: memoryListSchema,
    summary: 'Keys starting with `prefix` in key order, after `after` (100 unless `limit` says otherwise).',
    rules: {
      prefix: rule('memory_key', { maxLength: LIMITS.memoryKeyChars, pattern: '^[\\x20-\\x7e]*$' }),
      after: rule('memory_key'),
    },
    reply: 'reply.memory.list',
  },
  'memory.delete': {
    payload: memoryKeySchema,
    summary: 'Deletes a key of the fleet memory.',
    rules: { key: rule('memory_key') },
    idempotent: FIRST_REPLY,
    reply: 'reply.memory.delete',
  },
  'task.submit': {
    payload: taskSubmitSchema,
    summary: 'Stores a task as `pending` and routes it to an online agent with every capability.',
    rules: { capabilities: rule('tags'), payload: rule('task_payload_size') },
    idempotent: 'a repeat with the same `idempotencyKey` submits nothing and returns the first task as it is now',
    reply: 'reply.task',
  },
  'task.get': {
    payload: taskRefSchema,
    summary: 'A task of the fleet.',
    reply: 'reply.task',
  },
  'task.claim': {
    payload: taskRefSchema,
    summary: 'The assignee takes the task on; its deadline restarts.',
    reply: 'reply.task',
  },
  'task.result': {
    payload: taskResultSchema,
    summary: 'The assignee reports exactly one of `result` and `error`; the submitter gets `task.finished`.',
    rules: { result: rule('task_result_size'), error: rule('text') },
    checks: {
      oneOf: [
        { type: 'object', required: ['result'] },
        { type: 'object', required: ['error'] },
      ],
    },
    idempotent: FIRST_REPLY,
    reply: 'reply.task',
  },
};

export const EVENTS: Readonly<Record<EventName, { readonly summary: string }>> = {
  dm: { summary: 'A direct message, in seq order, at least once until acknowledged.' },
  activity: { summary: 'Another agent of the fleet broadcast an activity (not echoed to the sender).' },
  'presence.changed': {
    summary:
      'Agents of the fleet came online or went offline: every change of one batch window, at most one a window per replica.',
  },
  'task.assigned': { summary: 'A task routed to this agent: claim it and report a result.' },
  'task.finished': { summary: 'A task this agent submitted completed or failed.' },
};

/** Objects that recur in several messages; the Markdown section describes each once. */
export const SHARED_OBJECTS: Readonly<Record<string, z.ZodType>> = {
  TaskView: taskViewSchema,
  RosterEntry: rosterEntrySchema,
  DirectMessage: directMessageSchema,
  MemoryListing: memoryListingSchema,
  RateAllowance: rateAllowanceSchema,
  ErrorBody: errorBodySchema,
};

/** The rate rule a request spends besides `rate_requests`, or that it is not counted at all. */
export function rateRuleOf(type: RequestType): string | undefined {
  if (type === 'hello') return undefined;
  const handler = handlers[type];
  if (handler?.uncounted) return 'none';
  if (handler?.rate === undefined) return 'rate_requests';
  return `rate_requests, rate_${handler.rate.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
}

// ---- JSON Schema -----------------------------------------------------------------------------------

/** Draft-07 JSON Schema (the dialect AsyncAPI 3.0 schemas extend) of a zod schema. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = { ...(z.toJSONSchema(schema, { target: 'draft-7', io }) as JsonSchema) };
  delete json.$schema; // the dialect is the document's
  return json;
}

/** The request envelope (envelope.ts) around a payload schema; the hub parses both. */
function requestFrame(type: RequestType, spec: RequestSpec) {
  // A payload is optional where `{}` is a valid one: the hub treats a missing payload as `{}`.
  const payload = spec.payload.safeParse({}).success ? spec.payload.optional() : spec.payload;
  return z.strictObject({
    type: z.literal(type),
    id: requestToken.optional(),
    payload,
    idempotencyKey: requestToken.optional(),
  });
}

function withRules(frame: JsonSchema, { rules = {}, checks }: RequestSpec): JsonSchema {
  Object.assign((frame.properties as Record<string, JsonSchema>).payload!, checks);
  for (const [path, { rule: name, schema }] of Object.entries(rules)) {
    let node = (frame.properties as Record<string, JsonSchema>).payload!;
    for (const part of path.split('.')) {
      const next = (node.properties as Record<string, JsonSchema> | undefined)?.[part];
      if (next === undefined) throw new Error(`limit rule ${name}: the payload has no field ${path}`);
      node = next;
    }
    const { items, ...keywords } = schema ?? {};
    Object.assign(node, keywords, { 'x-rule': name });
    if (items !== undefined) node.items = { ...(node.items as JsonSchema), ...(items as JsonSchema) };
    node.description = `${RULES[name]} (rule ${name})`;
  }
  return frame;
}

export interface MessageSpec {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  /** The whole frame. */
  readonly payload: JsonSchema;
}

/** Every message of the channel by id: `request.<type>`, `reply.<…>`, `error`, `event.<name>`. */
export function messages(): Record<string, MessageSpec> {
  const result: Record<string, MessageSpec> = {};
  for (const type of REQUEST_TYPES) {
    const spec = REQUESTS[type];
    result[`request.${type}`] = {
      name: type,
      title: `${type} request`,
      summary: spec.summary,
      payload: withRules(jsonSchemaOf(requestFrame(type, spec), 'input'), spec),
    };
  }
  for (const type of REQUEST_TYPES) {
    const id = REQUESTS[type].reply;
    if (id in result) continue;
    const answers = REQUEST_TYPES.filter((t) => REQUESTS[t].reply === id);
    if (answers.some((t) => replyPayloadSchemas[t] !== replyPayloadSchemas[type])) {
      throw new Error(`${answers.join(', ')} share the message ${id} but not a reply schema`);
    }
    result[id] = {
      name: id,
      title: `${answers.join(', ')} reply`,
      summary: `The successful reply to ${answers.join(', ')}.`,
      payload: jsonSchemaOf(replyFrame(replyPayloadSchemas[type]), 'output'),
    };
  }
  result.error = {
    name: 'error',
    title: 'error reply',
    summary: 'The reply to a request that failed, or to a frame that was no valid request (then `id` may be null).',
    payload: jsonSchemaOf(errorFrameSchema, 'output'),
  };
  for (const event of EVENT_NAMES) {
    result[`event.${event}`] = {
      name: event,
      title: `${event} event`,
      summary: EVENTS[event].summary,
      payload: jsonSchemaOf(eventFrame(event, eventPayloadSchemas[event]), 'output'),
    };
  }
  return result;
}

// ---- AsyncAPI --------------------------------------------------------------------------------------

const CHANNEL = 'ws';
const channelRef = { $ref: `#/channels/${CHANNEL}` };
const messageRef = (id: string) => ({ $ref: `#/channels/${CHANNEL}/messages/${id}` });

export function asyncApiDocument(): JsonSchema {
  const all = messages();
  const operations: Record<string, JsonSchema> = {};
  for (const type of REQUEST_TYPES) {
    const spec = REQUESTS[type];
    operations[`send.${type}`] = {
      action: 'send',
      channel: channelRef,
      title: type,
      summary: spec.summary,
      ...(spec.idempotent === undefined ? {} : { description: `Idempotent: ${spec.idempotent}.` }),
      messages: [messageRef(`request.${type}`)],
      reply: { channel: channelRef, messages: [messageRef(spec.reply), messageRef('error')] },
    };
  }
  operations['receive.error'] = {
    action: 'receive',
    channel: channelRef,
    title: 'error',
    summary: 'Error replies to frames that were no valid request: not JSON, binary, too large, a bad envelope.',
    messages: [messageRef('error')],
  };
  for (const event of EVENT_NAMES) {
    operations[`receive.${event}`] = {
      action: 'receive',
      channel: channelRef,
      title: event,
      summary: EVENTS[event].summary,
      messages: [messageRef(`event.${event}`)],
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: PROTOCOL_TITLE,
      version: PROTOCOL_VERSION,
      description:
        'Agents talk to the hub over one WebSocket each; every frame is a UTF-8 text frame holding one JSON object. ' +
        'Generated by `npm run hub:protocol` from the zod schemas in src/hub/protocol/; PROTOCOL.md explains it.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: '127.0.0.1:8080',
        protocol: 'ws',
        description: 'A hub started with `npm run hub`; deployed hubs use `wss` on their public host.',
      },
    },
    channels: {
      [CHANNEL]: {
        address: '/ws',
        title: 'Agent session',
        description: 'One WebSocket per agent. The first request must be `hello`.',
        messages: Object.fromEntries(Object.keys(all).map((id) => [id, { $ref: `#/components/messages/${id}` }])),
        bindings: { ws: { method: 'GET', bindingVersion: '0.1.0' } },
      },
    },
    operations,
    components: {
      messages: Object.fromEntries(Object.entries(all).map(([id, message]) => [id, message])),
    },
  };
}

// ---- Markdown --------------------------------------------------------------------------------------

interface Row {
  readonly field: string;
  readonly type: string;
  readonly required: boolean;
  readonly constraints: string;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const code = (text: string) => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``);
const props = (s: JsonSchema) => (s.properties ?? {}) as Record<string, JsonSchema>;
const isObject = (s: JsonSchema) => s.type === 'object' && s.properties !== undefined;
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const anchor = (name: string) => `[\`${name}\`](#${name.toLowerCase()})`;

const shared = (): [string, JsonSchema][] =>
  Object.entries(SHARED_OBJECTS).map(([name, schema]) => [name, jsonSchemaOf(schema, 'output')]);

function typeOf(s: JsonSchema, named: [string, JsonSchema][]): string {
  const name = named.find(([, shape]) => sameJson(shape, s))?.[0];
  if (name !== undefined) return anchor(name);
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map((x) => typeOf(x, named)).join(' | ');
  if (Array.isArray(s.type)) return (s.type as string[]).map((t) => typeOf({ ...s, type: t }, named)).join(' | ');
  if (s.const !== undefined) {
    if (typeof s.const !== 'number') return typeof s.const;
    return Number.isInteger(s.const) ? 'integer' : 'number';
  }
  switch (s.type) {
    case undefined:
      return 'any JSON';
    case 'array': {
      const item = typeOf((s.items ?? {}) as JsonSchema, named);
      return item.includes(' | ') ? `(${item})[]` : `${item}[]`;
    }
    case 'string':
      return s.format === 'date-time' ? 'timestamp' : 'string';
    default:
      return String(s.type);
  }
}

function range(min: unknown, max: unknown, unit = ''): string | undefined {
  const lo = typeof min === 'number' ? min : undefined;
  const hi = typeof max === 'number' && max !== MAX_SAFE ? max : undefined;
  if (lo !== undefined && hi !== undefined) return lo === hi ? `exactly ${lo}${unit}` : `${lo}–${hi}${unit}`;
  if (hi !== undefined) return `at most ${hi}${unit}`;
  if (lo === 1 && unit !== '') return 'not empty';
  if (lo !== undefined) return `at least ${lo}${unit}`;
  return undefined;
}

function constraintsOf(s: JsonSchema): string[] {
  const out: string[] = [];
  if (Array.isArray(s.anyOf))
    for (const alternative of s.anyOf as JsonSchema[]) out.push(...constraintsOf(alternative));
  if (s.const !== undefined) out.push(`always ${code(JSON.stringify(s.const))}`);
  if (Array.isArray(s.enum)) out.push(`one of ${(s.enum as unknown[]).map((v) => code(String(v))).join(', ')}`);
  if (s.format === 'date-time') out.push('ISO 8601, UTC');
  const length = range(s.minLength, s.maxLength, ' characters');
  if (length !== undefined) out.push(length);
  if (typeof s.pattern === 'string' && s.format !== 'date-time') out.push(`matches ${code(s.pattern)}`);
  const value = range(s.minimum, s.maximum);
  if (value !== undefined) out.push(value);
  const items = range(s.minItems, s.maxItems, ' items');
  if (items !== undefined) out.push(items);
  if (s.type === 'array' && s.items !== undefined) {
    const each = constraintsOf(s.items as JsonSchema);
    if (each.length > 0) out.push(`each ${each.join(', ')}`);
  }
  if (typeof s['x-rule'] === 'string') out.push(`rule ${code(s['x-rule'])}`);
  return out;
}

function rowsOf(s: JsonSchema, named: [string, JsonSchema][], prefix = ''): Row[] {
  const required = new Set((s.required ?? []) as string[]);
  return Object.entries(props(s)).flatMap(([key, field]) => {
    const path = `${prefix}${key}`;
    const type = typeOf(field, named);
    const row: Row = {
      field: path,
      type,
      required: required.has(key),
      constraints: type.startsWith('[') ? '' : constraintsOf(field).join('; '),
    };
    if (type.startsWith('[')) return [row];
    if (isObject(field)) return [row, ...rowsOf(field, named, `${path}.`)];
    const items = field.items as JsonSchema | undefined;
    if (field.type === 'array' && items !== undefined && isObject(items)) {
      return [row, ...rowsOf(items, named, `${path}[].`)];
    }
    return [row];
  });
}

const cell = (text: string) => text.replaceAll('|', '\\|');

function table(rows: readonly Row[]): string {
  const lines = ['| field | type | required | constraints |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    lines.push(`| ${cell(code(r.field))} | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.constraints)} |`);
  }
  return lines.join('\n');
}

/** A payload: a shared object, a shared object with some fields narrowed, `{}`, or a table of fields. */
function describePayload(s: JsonSchema, named: [string, JsonSchema][]): string {
  const exact = named.find(([, shape]) => sameJson(shape, s));
  if (exact !== undefined) return `${anchor(exact[0])}.`;
  const base = named.find(
    ([, shape]) => sameJson(Object.keys(props(shape)), Object.keys(props(s))) && sameJson(shape.required, s.required),
  );
  if (base !== undefined) {
    const changed = Object.entries(props(s)).filter(([key, field]) => !sameJson(props(base[1])[key], field));
    const required = new Set((s.required ?? []) as string[]);
    const rows = changed.map(([key, field]) => ({
      field: key,
      type: typeOf(field, named),
      required: required.has(key),
      constraints: constraintsOf(field).join('; '),
    }));
    return `${anchor(base[0])}, with:\n\n${table(rows)}`;
  }
  if (Object.keys(props(s)).length === 0) return '`{}`.';
  return `\n\n${table(rowsOf(s, named))}`;
}

const payloadOf = (frame: JsonSchema) => props(frame).payload ?? {};

/** The top-level fields of a frame, some of them described in words rather than by their schema. */
function frameTable(frame: JsonSchema, named: [string, JsonSchema][], words: Record<string, Partial<Row>>): string {
  const required = new Set((frame.required ?? []) as string[]);
  const rows = Object.entries(props(frame)).map(([key, field]) => ({
    field: key,
    type: typeOf(field, named),
    required: required.has(key),
    constraints: constraintsOf(field).join('; '),
    ...words[key],
  }));
  return table(rows);
}

/** The "Message schemas" section of PROTOCOL.md (Markdown, before Prettier formats it). */
export function protocolMarkdown(): string {
  const named = shared();
  const all = messages();
  const out: string[] = [
    '## Message schemas',
    'Generated by `npm run hub:protocol` from the zod schemas in `src/hub/protocol/` (`requests.ts`, `replies.ts`); ' +
      'change those, not this section. `src/hub/asyncapi.json` is the same protocol as an AsyncAPI 3.0 document, ' +
      'and a test validates real hub traffic against it. Objects are strict: fields not listed here are rejected ' +
      '(requests) or never sent (replies, events). Timestamps are ISO 8601 strings in UTC. `rule` names the limit ' +
      'that the hub checks beyond the shape (see Limits).',
    '### Frames',
    'Request (agent to hub):',
    frameTable(all['request.heartbeat']!.payload, named, {
      type: { constraints: 'a request type below' },
      payload: {
        type: 'object',
        required: false,
        constraints: 'the payload of the request type; may be left out where `{}` is a valid payload',
      },
    }),
    'Reply (hub to agent):',
    frameTable(all['reply.heartbeat']!.payload, named, {
      id: { constraints: "the request's `id`, or null" },
      payload: { type: 'object', constraints: 'the reply payload of the request type' },
    }),
    'Error reply (hub to agent):',
    frameTable(all.error!.payload, named, { id: { constraints: "the request's `id`, or null" } }),
    'Event (hub to agent):',
    frameTable(all['event.dm']!.payload, named, {
      event: { constraints: 'an event name below' },
      payload: { type: 'object', constraints: 'the payload of the event' },
    }),
    '### Requests',
  ];
  for (const type of REQUEST_TYPES) {
    const spec = REQUESTS[type];
    const request = all[`request.${type}`]!.payload;
    const rate = rateRuleOf(type);
    const facts = [
      rate === undefined
        ? undefined
        : `Rate rules: ${rate === 'none' ? 'not counted' : rate.split(', ').map(code).join(', ')}.`,
      spec.idempotent === undefined ? undefined : `Idempotent: ${spec.idempotent}.`,
      props(request).payload !== undefined && !((request.required ?? []) as string[]).includes('payload')
        ? 'The payload may be left out.'
        : undefined,
    ].filter((x) => x !== undefined);
    out.push(
      `#### ${code(type)}`,
      [spec.summary, ...facts].join(' '),
      `Payload: ${describePayload(payloadOf(request), named)}`,
      `Reply payload: ${describePayload(payloadOf(all[spec.reply]!.payload), named)}`,
    );
  }
  out.push('### Events');
  for (const event of EVENT_NAMES) {
    out.push(
      `#### ${code(event)}`,
      EVENTS[event].summary,
      `Payload: ${describePayload(payloadOf(all[`event.${event}`]!.payload), named)}`,
    );
  }
  out.push('### Shared objects');
  for (const [name, schema] of named) {
    out.push(
      `#### ${code(name)}`,
      table(
        rowsOf(
          schema,
          named.filter(([other]) => other !== name),
        ),
      ),
    );
  }
  return `${out.join('\n\n')}\n`;
}
