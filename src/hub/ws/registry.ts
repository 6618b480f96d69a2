import { channels, type BusHandler } from '../bus/bus.ts';
import type { Services } from '../services/services.ts';
import type { LiveSession as Session } from './agent.ts';
import { fleetFrame } from './fleet-frames.ts';

/**
 * The authenticated sessions of this replica, by agent and by fleet. A replica subscribes to a fleet's
 * channel while it holds at least one session of that fleet, and fans each fleet event out locally.
 */
export class SessionRegistry {
  private readonly byAgent = new Map<string, Session>();
  private readonly byFleet = new Map<string, { sessions: Set<Session>; handler: BusHandler }>();

  constructor(private readonly services: Services) {}

  get size(): number {
    return this.byAgent.size;
  }

  sessions(): Session[] {
    return [...this.byAgent.values()];
  }

  /** The sessions of each fleet this replica holds. */
  fleets(): Map<string, Session[]> {
    return new Map([...this.byFleet].map(([fleetId, fleet]) => [fleetId, [...fleet.sessions]]));
  }

  /** Registers a session; returns the older local session of the same agent, which the caller replaces. */
  async add(session: Session): Promise<Session | undefined> {
    const agent = session.identity;
    const previous = this.byAgent.get(agent.agentId);
    this.byAgent.set(agent.agentId, session);
    this.services.metrics.connectedAgents.set(this.byAgent.size);
    let fleet = this.byFleet.get(agent.fleetId);
    if (fleet === undefined) {
      const members = new Set<Session>();
      const handler: BusHandler = (event) => {
        const frame = fleetFrame(event as Parameters<typeof fleetFrame>[0]);
        for (const member of members) if (member.identity.agentId !== frame.except) member.sendFleetFrame(frame);
      };
      fleet = { sessions: members, handler };
      this.byFleet.set(agent.fleetId, fleet);
      fleet.sessions.add(session);
      await this.services.bus.subscribe(channels.fleet(agent.fleetId), handler);
    } else {
      fleet.sessions.add(session);
    }
    if (previous !== undefined && previous !== session) fleet.sessions.delete(previous);
    return previous === session ? undefined : previous;
  }

  async remove(session: Session): Promise<void> {
    const agent = session.identity;
    if (this.byAgent.get(agent.agentId) === session) this.byAgent.delete(agent.agentId);
    this.services.metrics.connectedAgents.set(this.byAgent.size);
    const fleet = this.byFleet.get(agent.fleetId);
    if (fleet === undefined || !fleet.sessions.delete(session) || fleet.sessions.size > 0) return;
    this.byFleet.delete(agent.fleetId);
    await this.services.bus.unsubscribe(channels.fleet(agent.fleetId), fleet.handler);
  }
}
