import { HubError } from './errors.ts';

/** Changes one `presence.changed` event lists; a batch window with more says `resync` instead. */
export const PRESENCE_LISTED_MAX = 50;

/** Input limits of the protocol; PROTOCOL.md documents the same numbers. */
export const LIMITS = {
  frameBytes: 1_048_576,
  /** Objects and arrays nested in one frame, the envelope included. */
  jsonDepth: 64,
  agentNameChars: 100,
  memoryKeyChars: 500,
  memoryValueBytes: 1_048_576,
  messageBytes: 102_400,
  tagsPerItem: 20,
  tagChars: 50,
  taskPayloadBytes: 262_144,
  taskResultBytes: 1_048_576,
  memoryListPage: 1_000,
  /** Requests of one session not yet answered, the one being handled included. */
  queuedRequests: 256,
} as const;

export const RULES = {
  frame_size: `a frame is at most ${LIMITS.frameBytes} bytes (1 MB)`,
  json_depth: `a frame nests objects and arrays at most ${LIMITS.jsonDepth} deep, the envelope included`,
  text: 'text fields hold no control characters and no unpaired surrogates',
  agent_name: `an agent name is 1-${LIMITS.agentNameChars} characters without control characters`,
  memory_key: `a memory key is 1-${LIMITS.memoryKeyChars} printable ASCII characters`,
  memory_value_size: `a memory value is at most ${LIMITS.memoryValueBytes} bytes of JSON (1 MB)`,
  message_size: `a message is at most ${LIMITS.messageBytes} bytes of JSON (100 KB)`,
  tags: `at most ${LIMITS.tagsPerItem} tags of 1-${LIMITS.tagChars} characters without control characters`,
  task_payload_size: `a task payload is at most ${LIMITS.taskPayloadBytes} bytes of JSON`,
  task_result_size: `a task result is at most ${LIMITS.taskResultBytes} bytes of JSON`,
  queued_requests: `at most ${LIMITS.queuedRequests} requests of one session are unanswered at once`,
  agents_per_key: 'an API key creates at most HUB_MAX_AGENTS_PER_KEY distinct agents',
  connections:
    'a replica holds at most HUB_MAX_CONNECTIONS connections, HUB_MAX_CONNECTIONS_PER_KEY per API key and HUB_MAX_CONNECTIONS_PER_TENANT per tenant',
} as const;

export type Rule = keyof typeof RULES;

export function limitExceeded(rule: Rule, field: string, detail: string): HubError {
  return new HubError('limit_exceeded', `${field}: ${detail} (rule ${rule}: ${RULES[rule]})`, { rule });
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** Text that Postgres can store and logs can show: no control characters, no unpaired surrogates. */
export function isPlainText(value: string): boolean {
  return !CONTROL.test(value) && value.isWellFormed();
}

export function checkAgentName(name: string, field = 'payload.agent.name'): void {
  if (name.length === 0 || name.length > LIMITS.agentNameChars || !isPlainText(name) || name.trim() !== name) {
    throw limitExceeded('agent_name', field, `got ${name.length} characters`);
  }
}

export function checkTags(tags: readonly string[], field: string): void {
  if (tags.length > LIMITS.tagsPerItem) throw limitExceeded('tags', field, `got ${tags.length} tags`);
  tags.forEach((tag, i) => {
    if (tag.length === 0 || tag.length > LIMITS.tagChars || !isPlainText(tag)) {
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

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * How deep objects and arrays nest in a JSON text, counted on its bytes without recursion: a deep
 * value parses fine but overflows the stack wherever it is serialized again.
 */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) deepest = Math.max(deepest, ++depth);
    else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth--;
  }
  return deepest;
}
