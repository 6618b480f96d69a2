/** Wire types shared by the hub and its clients; PROTOCOL.md is the prose version. */
export type { ErrorBody, ErrorCode } from '../protocol/errors.ts';
export type { DirectMessage, SendReceipt } from '../services/messages.ts';
export type { TaskView, TaskStatus } from '../services/tasks.ts';
export type { MemoryEntry, MemoryListing } from '../services/memory.ts';
export type { RosterEntry, PresenceEvent } from '../presence/presence.ts';
export type { ActivityNotice } from '../ws/handlers.ts';

export interface HelloReply {
  readonly agentId: string;
  readonly tenantId: string;
  readonly fleetId: string;
  readonly replicaId: string;
  readonly connectionId: string;
  readonly dmSeq: number;
  readonly ackedSeq: number;
  readonly resumeAfter: number;
  readonly heartbeatIntervalMs: number;
}
