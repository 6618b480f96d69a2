import type { Migration } from './migration.ts';

/*
 * A failover to an asynchronous replica, or a point-in-time restore, loses the newest messages of
 * some agents while their clients have already processed them. Numbering on from the restored
 * dm_seq would reuse those seqs, and clients would drop the new messages as duplicates. Both leave
 * Postgres on a new WAL timeline, so each agent remembers the timeline its last seq was assigned on,
 * and the first message on another timeline jumps ahead (services/messages.ts).
 */
export const dmTimeline: Migration = {
  version: 3,
  name: 'dm_timeline',
  sql: `
CREATE FUNCTION ringforge_wal_timeline() RETURNS integer LANGUAGE sql VOLATILE
  AS $$ SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::integer $$;

ALTER TABLE agents ADD COLUMN dm_timeline integer;
UPDATE agents SET dm_timeline = ringforge_wal_timeline();
ALTER TABLE agents
  ALTER COLUMN dm_timeline SET DEFAULT ringforge_wal_timeline(),
  ALTER COLUMN dm_timeline SET NOT NULL;
`,
};
