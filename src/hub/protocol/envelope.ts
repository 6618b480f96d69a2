import { z } from 'zod';
import type { ErrorBody } from './errors.ts';
import { HubError } from './errors.ts';

/** A request as an agent sends it. */
export interface Request {
  readonly type: string;
  readonly id?: string;
  readonly payload: unknown;
  readonly idempotencyKey?: string;
}

export type Reply =
  | { readonly type: 'reply'; readonly id: string | null; readonly ok: true; readonly payload: unknown }
  | { readonly type: 'reply'; readonly id: string | null; readonly ok: false; readonly error: ErrorBody };

export interface ServerEvent {
  readonly type: 'event';
  readonly event: string;
  readonly payload: unknown;
}

const token = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** Request ids and idempotency keys. */
export const requestToken = token(128);

const envelopeSchema = z.strictObject({
  type: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z.]*$/, 'must be a request type such as dm.send'),
  id: requestToken.optional(),
  payload: z
    .custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a JSON object')
    .optional(),
  idempotencyKey: requestToken.optional(),
});

/** The request id of a frame that failed validation, if it carries a usable one, so the error can echo it. */
export function salvageId(parsed: unknown): string | null {
  if (typeof parsed !== 'object' || parsed === null || !('id' in parsed)) return null;
  const id = (parsed as { id: unknown }).id;
  return typeof id === 'string' && requestToken.safeParse(id).success ? id : null;
}

export function parseEnvelope(parsed: unknown): Request {
  const result = envelopeSchema.safeParse(parsed);
  if (!result.success) throw new HubError('invalid_envelope', describeIssues(result.error, ''));
  return { ...result.data, payload: result.data.payload ?? {} };
}

/** Parses a payload with a request schema; errors name each offending field. */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  const result = schema.safeParse(payload);
  if (!result.success) throw new HubError('invalid_request', describeIssues(result.error, 'payload'));
  return result.data;
}

function describeIssues(error: z.ZodError, root: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter((p) => p !== '').join('.') || 'frame';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
