/**
 * Wire types shared by the hub and its clients, inferred from the schemas in protocol/replies.ts that
 * PROTOCOL.md's message schemas and asyncapi.json are generated from (`npm run hub:protocol`).
 */
import type { z } from 'zod';
import type {
  activityEventSchema,
  directMessageSchema,
  dmSendReplySchema,
  errorBodySchema,
  eventPayloadSchemas,
  EventName,
  helloReplySchema,
  memoryGetReplySchema,
  memoryListingSchema,
  presenceEventSchema,
  replyPayloadSchemas,
  RequestType,
  rosterEntrySchema,
  taskViewSchema,
} from '../protocol/replies.ts';

export type { ErrorCode } from '../protocol/errors.ts';
export type { EventName, RequestType } from '../protocol/replies.ts';
export type ErrorBody = z.infer<typeof errorBodySchema>;
export type HelloReply = z.infer<typeof helloReplySchema>;
export type DirectMessage = z.infer<typeof directMessageSchema>;
export type SendReceipt = z.infer<typeof dmSendReplySchema>;
export type TaskView = z.infer<typeof taskViewSchema>;
export type TaskStatus = TaskView['status'];
export type MemoryEntry = z.infer<typeof memoryGetReplySchema>;
export type MemoryListing = z.infer<typeof memoryListingSchema>;
export type RosterEntry = z.infer<typeof rosterEntrySchema>;
/** The payload of `presence.changed`. */
export type PresenceEvent = z.infer<typeof presenceEventSchema>;
/** The payload of `activity`. */
export type ActivityEvent = z.infer<typeof activityEventSchema>;
/** The payload of a successful reply to a request type. */
export type ReplyPayload<T extends RequestType> = z.infer<(typeof replyPayloadSchemas)[T]>;
/** The payload of an event. */
export type EventPayload<E extends EventName> = z.infer<(typeof eventPayloadSchemas)[E]>;
