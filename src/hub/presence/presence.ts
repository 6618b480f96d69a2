import { channels, type Bus } from '../bus/bus.ts';
import type { Logger } from '../log.ts';
import { PRESENCE_LISTED_MAX } from '../protocol/limits.ts';
import type { PresenceEntry, PresenceStore } from './store.ts';

/** An agent as `presence.changed` names it. */
export interface PresenceMember {
  readonly agentId: string;
  readonly name: string;
}

/**
 * What other fleet members see when agents join or leave: every change of one batch window, or,
 * past PRESENCE_LISTED_MAX changes, only `resync` (read the roster).
 */
export interface PresenceEvent {
  readonly kind: 'presence';
  readonly joined: PresenceMember[];
  readonly left: PresenceMember[];
  readonly resync: boolean;
}

/** The longest a busy fleet's window grows to. */
const MAX_WINDOW_MS = 5_000;

export type RosterEntry = Omit<PresenceEntry, 'connectionId' | 'expiresAt'>;

const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Fleet rosters across replicas. Each replica refreshes the entries of its own sessions well within
 * the TTL; entries of a replica that died expire, and whoever reads the roster first prunes them and
 * announces the departure.
 *
 * Changes are announced in batches: each replica gathers a fleet's joins and departures for
 * `batchMs` and publishes them as one event. A window with many changes lengthens the next one (up
 * to 5 s) and sends `resync` rather than a list. One event per change would cost a fleet of N agents
 * N frames per join, so N reconnecting agents would cost N² frames.
 */
export class Presence {
  private readonly pending = new Map<string, Map<string, { joined: boolean; name: string }>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The window of fleets whose last batch was large, until it has passed quietly twice. */
  private readonly windows = new Map<string, { ms: number; until: number }>();
  private closed = false;

  constructor(
    private readonly store: PresenceStore,
    private readonly bus: Bus,
    private readonly ttlMs: number,
    private readonly log: Logger,
    private readonly batchMs: number,
  ) {}

  async join(fleetId: string, entry: Omit<PresenceEntry, 'expiresAt'>): Promise<void> {
    await this.store.put(fleetId, [{ ...entry, expiresAt: Date.now() + this.ttlMs }]);
    this.announce(fleetId, entry.agentId, entry.name, true);
  }

  /** Rewrites the entries of one fleet's sessions with a fresh expiry, in one write. */
  async refresh(fleetId: string, entries: readonly Omit<PresenceEntry, 'expiresAt'>[]): Promise<void> {
    const expiresAt = Date.now() + this.ttlMs;
    await this.store.put(
      fleetId,
      entries.map((entry) => ({ ...entry, expiresAt })),
    );
  }

  async leave(fleetId: string, agentId: string, name: string, connectionId: string): Promise<void> {
    if (await this.store.remove(fleetId, agentId, connectionId, NEVER)) this.announce(fleetId, agentId, name, false);
  }

  /** Publishes every change still gathering and announces nothing more: the hub is stopping. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pending.keys()].map((fleetId) => this.publish(fleetId)));
  }

  async roster(fleetId: string): Promise<RosterEntry[]> {
    const now = Date.now();
    const entries = await this.store.list(fleetId);
    const expired = entries.filter((e) => e.expiresAt <= now);
    await Promise.all(
      expired.map(async (e) => {
        if (await this.store.remove(fleetId, e.agentId, e.connectionId, now + 1)) {
          this.announce(fleetId, e.agentId, e.name, false);
        }
      }),
    );
    return entries
      .filter((e) => e.expiresAt > now)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(({ connectionId: _c, expiresAt: _e, ...visible }) => visible);
  }

  /** Adds a change to the fleet's batch; the latest change of an agent within a window wins. */
  private announce(fleetId: string, agentId: string, name: string, joined: boolean): void {
    if (this.closed) return;
    let batch = this.pending.get(fleetId);
    if (batch === undefined) {
      batch = new Map();
      this.pending.set(fleetId, batch);
      const timer = setTimeout(() => void this.publish(fleetId), this.windowOf(fleetId));
      this.timers.set(fleetId, timer.unref());
    }
    batch.delete(agentId);
    batch.set(agentId, { joined, name });
  }

  /** The fleet's current window: longer after a large batch, back to `batchMs` once that passed. */
  private windowOf(fleetId: string): number {
    const window = this.windows.get(fleetId);
    if (window === undefined) return this.batchMs;
    if (window.until > Date.now()) return window.ms;
    this.windows.delete(fleetId);
    return this.batchMs;
  }

  private async publish(fleetId: string): Promise<void> {
    const batch = this.pending.get(fleetId);
    clearTimeout(this.timers.get(fleetId));
    this.pending.delete(fleetId);
    this.timers.delete(fleetId);
    if (batch === undefined) return;
    const resync = batch.size > PRESENCE_LISTED_MAX;
    if (resync) {
      const ms = Math.min(MAX_WINDOW_MS, this.batchMs * Math.ceil(batch.size / PRESENCE_LISTED_MAX));
      this.windows.set(fleetId, { ms, until: Date.now() + 2 * ms });
    } else {
      this.windows.delete(fleetId);
    }
    const event: PresenceEvent = { kind: 'presence', joined: [], left: [], resync };
    if (!resync) {
      // An agent that left this replica may have joined another meanwhile, whose event can go out
      // first: a departure is announced only while the agent has no entry left in the roster.
      const departed = [...batch].filter(([, change]) => !change.joined).map(([agentId]) => agentId);
      const back =
        departed.length === 0
          ? new Set<string>()
          : await this.store.present(fleetId, departed).catch(() => new Set<string>());
      for (const [agentId, change] of batch) {
        if (change.joined) event.joined.push({ agentId, name: change.name });
        else if (!back.has(agentId)) event.left.push({ agentId, name: change.name });
      }
      if (event.joined.length + event.left.length === 0) return;
    }
    await this.bus.publish(channels.fleet(fleetId), event).catch((error: unknown) => {
      this.log.warn({ err: error, fleetId }, 'could not announce a presence change');
    });
  }
}
