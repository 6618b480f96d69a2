import { HubError } from './errors.ts';

/** Input limits of the protocol; PROTOCOL.md documents the same numbers. */
export const LIMITS = {
  frameBytes: 1_048_576,
  agentNameChars: 100,
  memoryKeyChars: 500,
  memoryValueBytes: 1_048_576,
  messageBytes: 102_400,
  tagsPerItem: 20,
  tagChars: 50,
  taskPayloadBytes: 262_144,
  taskResultBytes: 1_048_576,
  memoryListPage: 1_000,
  /** Requests of one session waiting to be answered. */
  queuedRequests: 256,
} as const;

export const RULES = {
  frame_size: `a frame is at most ${LIMITS.frameBytes} bytes (1 MB)`,
  agent_name: `an agent name is 1-${LIMITS.agentNameChars} characters without control characters`,
  memory_key: `a memory key is 1-${LIMITS.memoryKeyChars} printable ASCII characters`,
  memory_value_size: `a memory value is at most ${LIMITS.memoryValueBytes} bytes of JSON (1 MB)`,
  message_size: `a message is at most ${LIMITS.messageBytes} bytes of JSON (100 KB)`,
  tags: `at most ${LIMITS.tagsPerItem} tags of 1-${LIMITS.tagChars} characters without control characters`,
  task_payload_size: `a task payload is at most ${LIMITS.taskPayloadBytes} bytes of JSON`,
  task_result_size: `a task result is at most ${LIMITS.taskResultBytes} bytes of JSON`,
  queued_requests: `at most ${LIMITS.queuedRequests} requests of one session wait for an answer`,
} as const;

export type Rule = keyof typeof RULES;

export function limitExceeded(rule: Rule, field: string, detail: string): HubError {
  return new HubError('limit_exceeded', `${field}: ${detail} (rule ${rule}: ${RULES[rule]})`, { rule });
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

export function checkAgentName(name: string, field = 'payload.agent.name'): void {
  if (name.length === 0 || name.length > LIMITS.agentNameChars || CONTROL.test(name) || name.trim() !== name) {
    throw limitExceeded('agent_name', field, `got ${name.length} characters`);
  }
}

export function checkTags(tags: readonly string[], field: string): void {
  if (tags.length > LIMITS.tagsPerItem) throw limitExceeded('tags', field, `got ${tags.length} tags`);
  tags.forEach((tag, i) => {
    if (tag.length === 0 || tag.length > LIMITS.tagChars || CONTROL.test(tag)) {
      throw limitExceeded('tags', `${field}.${i}`, `got ${tag.length} characters`);
    }
  });
}

export function checkMemoryKey(key: string, field = 'payload.key'): void {
  if (key.length === 0 || key.length > LIMITS.memoryKeyChars || !PRINTABLE_ASCII.test(key)) {
    throw limitExceeded('memory_key', field, `got ${key.length} characters`);
  }
}

/** A memory prefix may be empty (list everything) but is otherwise held to the key rule. */
export function checkMemoryPrefix(prefix: string): void {
  if (prefix !== '') checkMemoryKey(prefix, 'payload.prefix');
}

/** Serializes a JSON payload and enforces its size; the text is what gets stored. */
export function jsonWithin(value: unknown, maxBytes: number, rule: Rule, field: string): string {
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw limitExceeded(rule, field, `got ${bytes} bytes`);
  return text;
}
