import type { Migration } from './migration.ts';

/*
 * The agents an API key has created, counted on the key so the cap is checked and raised in one
 * conditional UPDATE (agents that existed before count against no key); and pending tasks by fleet,
 * for the sweep that routes each fleet in turn.
 */
export const abuseLimits: Migration = {
  version: 2,
  name: 'abuse_limits',
  sql: `
ALTER TABLE api_keys ADD COLUMN agents_created integer NOT NULL DEFAULT 0;

DROP INDEX tasks_pending;
CREATE INDEX tasks_pending ON tasks (fleet_id, created_at, id) WHERE status = 'pending';
`,
};
