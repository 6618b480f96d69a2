/** One online agent as the roster shows it; written by the replica that holds the agent's session. */
export interface PresenceEntry {
  readonly agentId: string;
  readonly name: string;
  readonly capabilities: readonly string[];
  readonly tags: readonly string[];
  readonly status: 'online' | 'busy';
  /** Agent-reported load, 0 when it reports none; routing prefers lower. */
  readonly load: number;
  readonly replicaId: string;
  readonly connectionId: string;
  /** When the session joined, ISO 8601. */
  readonly joinedAt: string;
  /** Epoch ms after which the entry counts as gone (its replica stopped refreshing it). */
  readonly expiresAt: number;
}

/** Fleet rosters shared by all replicas: a Redis hash per fleet, or a map in embedded mode. */
export interface PresenceStore {
  /** Writes entries of one fleet, each replacing the agent's previous one. */
  put(fleetId: string, entries: readonly PresenceEntry[]): Promise<void>;
  /** Removes the entry if it still belongs to connectionId and expires before `expiringBefore`. */
  remove(fleetId: string, agentId: string, connectionId: string, expiringBefore: number): Promise<boolean>;
  /** Every entry of the fleet, expired ones included; the caller prunes. */
  list(fleetId: string): Promise<PresenceEntry[]>;
  /** Which of these agents have an entry now. */
  present(fleetId: string, agentIds: readonly string[]): Promise<Set<string>>;
}

export function createMemoryPresenceStore(): PresenceStore {
  const fleets = new Map<string, Map<string, PresenceEntry>>();
  return {
    async put(fleetId, entries) {
      if (entries.length === 0) return;
      const fleet = fleets.get(fleetId) ?? new Map<string, PresenceEntry>();
      fleets.set(fleetId, fleet);
      for (const entry of entries) fleet.set(entry.agentId, entry);
    },
    async remove(fleetId, agentId, connectionId, expiringBefore) {
      const fleet = fleets.get(fleetId);
      const entry = fleet?.get(agentId);
      if (fleet === undefined || entry === undefined) return false;
      if (entry.connectionId !== connectionId || entry.expiresAt >= expiringBefore) return false;
      fleet.delete(agentId);
      if (fleet.size === 0) fleets.delete(fleetId);
      return true;
    },
    async list(fleetId) {
      return [...(fleets.get(fleetId)?.values() ?? [])];
    },
    async present(fleetId, agentIds) {
      const fleet = fleets.get(fleetId);
      return new Set(agentIds.filter((id) => fleet?.has(id) === true));
    },
  };
}
