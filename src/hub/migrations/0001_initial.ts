import type { Migration } from './migration.ts';

/*
 * Payloads (message bodies, memory values, task payloads and results) are stored as JSON text, not
 * jsonb: jsonb rejects the \u0000 escape that valid JSON may carry, and the hub never queries inside them.
 */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE tenants (
  id         text PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fleets (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants (id),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

CREATE TABLE api_keys (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants (id),
  fleet_id   text NOT NULL REFERENCES fleets (id),
  key_hash   bytea NOT NULL UNIQUE,
  label      text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE TABLE agents (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  fleet_id     text NOT NULL REFERENCES fleets (id),
  name         text NOT NULL,
  capabilities text NOT NULL DEFAULT '[]',
  tags         text NOT NULL DEFAULT '[]',
  dm_seq       bigint NOT NULL DEFAULT 0,
  acked_seq    bigint NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (fleet_id, name)
);

CREATE TABLE messages (
  recipient_id text NOT NULL REFERENCES agents (id),
  seq          bigint NOT NULL,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  fleet_id     text NOT NULL REFERENCES fleets (id),
  sender_id    text NOT NULL REFERENCES agents (id),
  body         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (recipient_id, seq)
);

CREATE TABLE memory (
  fleet_id   text NOT NULL REFERENCES fleets (id),
  key        text NOT NULL,
  tenant_id  text NOT NULL REFERENCES tenants (id),
  value      text NOT NULL,
  version    bigint NOT NULL DEFAULT 1,
  updated_by text NOT NULL REFERENCES agents (id),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fleet_id, key)
);

CREATE TABLE tasks (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  fleet_id     text NOT NULL REFERENCES fleets (id),
  submitter_id text NOT NULL REFERENCES agents (id),
  capabilities text NOT NULL,
  payload      text NOT NULL,
  status       text NOT NULL CHECK (status IN ('pending', 'assigned', 'claimed', 'completed', 'failed')),
  assigned_to  text REFERENCES agents (id),
  attempts     integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  timeout_ms   integer NOT NULL,
  deadline_at  timestamptz,
  tried_agents text NOT NULL DEFAULT '[]',
  result       text,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_due ON tasks (deadline_at) WHERE status IN ('assigned', 'claimed');
CREATE INDEX tasks_pending ON tasks (created_at) WHERE status = 'pending';
CREATE INDEX tasks_active_by_agent ON tasks (fleet_id, assigned_to) WHERE status IN ('assigned', 'claimed');

CREATE TABLE idempotency_keys (
  agent_id   text NOT NULL REFERENCES agents (id),
  key        text NOT NULL,
  operation  text NOT NULL,
  response   text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
`,
};
