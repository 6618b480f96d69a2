import type { PresenceEntry } from '../presence/store.ts';
import type { FleetFrame } from './fleet-frames.ts';

/** The authenticated identity of a session; every handler scopes its queries by these ids. */
export interface AgentIdentity {
  readonly agentId: string;
  readonly tenantId: string;
  readonly fleetId: string;
  readonly keyId: string;
  readonly name: string;
  readonly capabilities: readonly string[];
  readonly tags: readonly string[];
}

/** What the session registry needs of a session (kept apart so the two modules do not import each other). */
export interface LiveSession {
  readonly identity: AgentIdentity;
  presenceEntry(): Omit<PresenceEntry, 'expiresAt'>;
  sendFleetFrame(frame: FleetFrame): void;
  close(code: number, reason: string): void;
}

/** WebSocket close codes the hub uses; PROTOCOL.md lists them for client authors. */
export const CLOSE = {
  /** The replica is shutting down: reconnect (to any replica) after a short jittered delay. */
  serviceRestart: 1012,
  unauthorized: 4001,
  helloTimeout: 4008,
  /** A newer session of the same agent took over. Do not reconnect automatically. */
  replaced: 4009,
  /** The client does not read fast enough for the hub to keep buffering for it. */
  slowConsumer: 4010,
  /** A connection or authentication limit refused the session: retry later, after `retryAfterMs` if given. */
  limited: 4029,
} as const;
