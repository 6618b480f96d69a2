import type { Redis } from 'ioredis';
import type { PresenceEntry, PresenceStore } from './store.ts';

const key = (fleetId: string) => `rf:presence:${fleetId}`;

/* Compare-and-delete, so a replica never removes an entry that a newer session of the agent wrote. */
const REMOVE_IF_OWNED = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local entry = cjson.decode(raw)
if entry.connectionId ~= ARGV[2] or entry.expiresAt >= tonumber(ARGV[3]) then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
`;

export function createRedisPresenceStore(redis: Redis, ttlMs: number): PresenceStore {
  return {
    async put(fleetId, entries) {
      if (entries.length === 0) return;
      const fields = new Map(entries.map((entry) => [entry.agentId, JSON.stringify(entry)]));
      // The hash as a whole expires too, so a fleet whose replicas all vanished leaves nothing behind.
      await redis
        .multi()
        .hset(key(fleetId), fields)
        .pexpire(key(fleetId), ttlMs * 4)
        .exec();
    },
    async remove(fleetId, agentId, connectionId, expiringBefore) {
      const removed = await redis.eval(REMOVE_IF_OWNED, 1, key(fleetId), agentId, connectionId, String(expiringBefore));
      return removed === 1;
    },
    async present(fleetId, agentIds) {
      const found = await redis.hmget(key(fleetId), ...agentIds);
      return new Set(agentIds.filter((_, i) => found[i] !== null));
    },
    async list(fleetId) {
      const all = await redis.hgetall(key(fleetId));
      return Object.values(all).map((raw) => JSON.parse(raw) as PresenceEntry);
    },
  };
}
