import type { PresenceEvent } from '../presence/presence.ts';
import type { ActivityNotice } from './handlers.ts';

/** A fleet event as the frame every member receives, serialised once for the whole fleet. */
export interface FleetFrame {
  readonly data: Buffer;
  /** The agent that does not receive it: the sender of an activity, or the only agent of a presence change. */
  readonly except: string | undefined;
}

function batchOf({ event, agentId, name }: SingleChange): Omit<PresenceEvent, 'kind'> {
  const members = [{ agentId, name }];
  return event === 'joined'
    ? { joined: members, left: [], resync: false }
    : { joined: [], left: members, resync: false };
}

const eventFrame = (event: string, payload: unknown) =>
  Buffer.from(JSON.stringify({ type: 'event', event, payload }), 'utf8');

/** What a replica of the previous release publishes for one change, during a rolling update. */
interface SingleChange {
  readonly kind: 'presence';
  readonly event: 'joined' | 'left';
  readonly agentId: string;
  readonly name: string;
}

/** The frame for a fleet event from the bus, in the documented shape without routing fields. */
export function fleetFrame(notice: ActivityNotice | PresenceEvent | SingleChange): FleetFrame {
  if (notice.kind === 'activity') {
    const { from, fromName, activity, at } = notice;
    return { data: eventFrame('activity', { from, fromName, activity, at }), except: from };
  }
  const { joined, left, resync } = 'event' in notice ? batchOf(notice) : notice;
  const only = joined.length + left.length === 1 ? (joined[0] ?? left[0])!.agentId : undefined;
  return { data: eventFrame('presence.changed', { joined, left, resync }), except: only };
}
