/*
 * Payload schemas of every request type. Shapes only; limits with named rules are checked by the
 * handlers through limits.ts so that every limit error looks the same.
 */
import { z } from 'zod';
import { isPlainText, RULES } from './limits.ts';

const required = z.unknown().refine((v) => v !== undefined, 'is required');
const id = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{1,64}$`), `must be an id of the form ${prefix}_…`);
const strings = z.array(z.string()).max(1_000);
/** Free text the hub stores or shows: rule `text`. */
const text = (min: number, max: number) => z.string().min(min).max(max).refine(isPlainText, RULES.text);

export const helloSchema = z.strictObject({
  apiKey: z.string().max(200),
  agent: z.strictObject({
    name: z.string().max(10_000),
    capabilities: strings.optional(),
    tags: strings.optional(),
  }),
  resume: z.strictObject({ lastSeq: z.int().min(0) }).optional(),
});

export const heartbeatSchema = z.strictObject({
  load: z.number().min(0).max(1_000_000).optional(),
  status: z.enum(['online', 'busy']).optional(),
});

export const emptySchema = z.strictObject({});

export const dmSendSchema = z.strictObject({ to: id('ag'), body: required });
export const dmAckSchema = z.strictObject({ seq: z.int().min(1) });
export const dmFetchSchema = z.strictObject({
  afterSeq: z.int().min(0),
  limit: z.int().min(1).max(500).optional(),
});

export const broadcastSchema = z.strictObject({
  kind: text(1, 100).optional(),
  data: required,
  tags: strings.optional(),
});

export const memorySetSchema = z.strictObject({
  key: z.string().max(10_000),
  value: required,
  ifVersion: z.int().min(0).optional(),
});
export const memoryKeySchema = z.strictObject({ key: z.string().max(10_000) });
export const memoryListSchema = z.strictObject({
  prefix: z.string().max(10_000),
  after: z.string().max(10_000).optional(),
  limit: z.int().min(1).max(1_000).optional(),
});

export const taskSubmitSchema = z.strictObject({
  capabilities: strings,
  payload: required,
  timeoutMs: z.int().min(100).max(86_400_000).optional(),
  maxAttempts: z.int().min(1).max(100).optional(),
});
export const taskRefSchema = z.strictObject({ taskId: id('tsk') });
export const taskResultSchema = z.strictObject({
  taskId: id('tsk'),
  result: z.unknown().optional(),
  error: text(1, 10_000).optional(),
});
