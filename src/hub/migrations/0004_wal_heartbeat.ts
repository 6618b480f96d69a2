import type { Migration } from './migration.ts';

/*
 * One row the ready hubs on a primary rewrite every few minutes (standby.ts). An idle primary writes
 * no WAL, so a replica that replays only the archive would look ever further behind and page as
 * stalled; with the heartbeat its lag stays within the heartbeat interval plus archive_timeout.
 */
export const walHeartbeat: Migration = {
  version: 4,
  name: 'wal_heartbeat',
  sql: `
CREATE TABLE wal_heartbeat (
  id         smallint PRIMARY KEY CHECK (id = 1),
  replica_id text NOT NULL,
  beat_at    timestamptz NOT NULL
);
`,
};
