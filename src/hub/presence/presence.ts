import { channels, type Bus } from '../bus/bus.ts';
import type { Logger } from '../log.ts';
import type { PresenceEntry, PresenceStore } from './store.ts';

/** What other fleet members see when an agent joins or leaves. */
export interface PresenceEvent {
  readonly kind: 'presence';
  readonly event: 'joined' | 'left';
  readonly agentId: string;
  readonly name: string;
}

export type RosterEntry = Omit<PresenceEntry, 'connectionId' | 'expiresAt'>;

const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Fleet rosters across replicas. Each replica refreshes the entries of its own sessions well within
 * the TTL; entries of a replica that died expire, and whoever reads the roster first prunes them and
 * announces the departure.
 */
export class Presence {
  constructor(
    private readonly store: PresenceStore,
    private readonly bus: Bus,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  async join(fleetId: string, entry: Omit<PresenceEntry, 'expiresAt'>): Promise<void> {
    await this.store.put(fleetId, { ...entry, expiresAt: Date.now() + this.ttlMs });
    await this.announce(fleetId, { kind: 'presence', event: 'joined', agentId: entry.agentId, name: entry.name });
  }

  async refresh(fleetId: string, entry: Omit<PresenceEntry, 'expiresAt'>): Promise<void> {
    await this.store.put(fleetId, { ...entry, expiresAt: Date.now() + this.ttlMs });
  }

  async leave(fleetId: string, agentId: string, name: string, connectionId: string): Promise<void> {
    if (await this.store.remove(fleetId, agentId, connectionId, NEVER)) {
      await this.announce(fleetId, { kind: 'presence', event: 'left', agentId, name });
    }
  }

  async roster(fleetId: string): Promise<RosterEntry[]> {
    const now = Date.now();
    const entries = await this.store.list(fleetId);
    const expired = entries.filter((e) => e.expiresAt <= now);
    await Promise.all(
      expired.map(async (e) => {
        if (await this.store.remove(fleetId, e.agentId, e.connectionId, now + 1)) {
          await this.announce(fleetId, { kind: 'presence', event: 'left', agentId: e.agentId, name: e.name });
        }
      }),
    );
    return entries
      .filter((e) => e.expiresAt > now)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(({ connectionId: _c, expiresAt: _e, ...visible }) => visible);
  }

  private async announce(fleetId: string, event: PresenceEvent): Promise<void> {
    await this.bus.publish(channels.fleet(fleetId), event).catch((error: unknown) => {
      this.log.warn({ err: error, fleetId }, 'could not announce a presence change');
    });
  }
}
