import type { Migration } from './migration.ts';

/*
 * A direct message in one statement: claim the idempotency key, take the recipient's next seq (one
 * jump per WAL timeline, see 0003), store the message and the reply the key replays. Run as one call
 * it commits on its own, with one round trip where the same steps as separate statements in a
 * transaction took six; at a thousand messages a second the round trips were most of the hub's work.
 * A concurrent duplicate blocks on the key until the first commits, then replays its reply. An
 * unknown recipient raises no_data_found, which rolls the claim back so the key stays unused.
 */
export const dmSend: Migration = {
  version: 5,
  name: 'dm_send',
  sql: `
CREATE FUNCTION ringforge_send_dm(
  p_to text, p_fleet text, p_tenant text, p_sender text, p_body text, p_key text, p_jump bigint
) RETURNS TABLE (outcome text, seq bigint, sent_at timestamptz, used_for text, response text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_seq bigint;
  v_at  timestamptz;
BEGIN
  IF p_key IS NOT NULL THEN
    INSERT INTO idempotency_keys (agent_id, key, operation) VALUES (p_sender, p_key, 'dm.send')
      ON CONFLICT (agent_id, key) DO NOTHING;
    IF NOT FOUND THEN
      RETURN QUERY
        SELECT CASE WHEN k.operation = 'dm.send' AND k.response IS NOT NULL THEN 'replayed' ELSE 'key_reused' END,
               NULL::bigint, NULL::timestamptz, k.operation, k.response
        FROM idempotency_keys k WHERE k.agent_id = p_sender AND k.key = p_key;
      RETURN;
    END IF;
  END IF;
  UPDATE agents SET dm_seq = dm_seq + 1 + CASE WHEN dm_timeline = wal.timeline THEN 0 ELSE p_jump END,
                    dm_timeline = wal.timeline
    FROM (SELECT ringforge_wal_timeline() AS timeline) wal
    WHERE id = p_to AND fleet_id = p_fleet AND tenant_id = p_tenant
    RETURNING dm_seq INTO v_seq;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no agent % in fleet %', p_to, p_fleet USING ERRCODE = 'no_data_found';
  END IF;
  INSERT INTO messages (recipient_id, seq, tenant_id, fleet_id, sender_id, body)
    VALUES (p_to, v_seq, p_tenant, p_fleet, p_sender, p_body)
    RETURNING created_at INTO v_at;
  IF p_key IS NOT NULL THEN
    UPDATE idempotency_keys
      SET response = json_build_object(
        'to', p_to, 'seq', v_seq,
        'sentAt', to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text
      WHERE agent_id = p_sender AND key = p_key;
  END IF;
  RETURN QUERY SELECT 'sent', v_seq, v_at, NULL::text, NULL::text;
END $$;
`,
};
