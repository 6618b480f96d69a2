import type { PresenceEvent } from '../presence/presence.ts';
import type { ActivityNotice } from './handlers.ts';

/** A fleet event as the frame every member receives, serialised once for the whole fleet. */
export interface FleetFrame {
  readonly data: Buffer;
  /** The agent that does not receive it: the sender of an activity, or the only agent of a presence change. */
  readonly except: string | undefined;
}

const eventFrame = (event: string, payload: unknown) =>
  Buffer.from(JSON.stringify({ type: 'event', event, payload }), 'utf8');

/** The frame for a fleet event from the bus, in the documented shape without routing fields. */
export function fleetFrame(notice: ActivityNotice | PresenceEvent): FleetFrame {
  if (notice.kind === 'activity') {
    const { from, fromName, activity, at } = notice;
    return { data: eventFrame('activity', { from, fromName, activity, at }), except: from };
  }
  const { joined, left, resync } = notice;
  const only = joined.length + left.length === 1 ? (joined[0] ?? left[0])!.agentId : undefined;
  return { data: eventFrame('presence.changed', { joined, left, resync }), except: only };
}
