import { channels, type Bus } from '../bus/bus.ts';
import type { Database } from '../db/database.ts';
import { notFound, HubError } from '../protocol/errors.ts';
import { mutate } from './idempotency.ts';

/** A direct message as the recipient receives it. */
export interface DirectMessage {
  readonly seq: number;
  readonly from: string;
  readonly body: unknown;
  readonly sentAt: string;
}

/** Bus notification that a message was stored for an agent. */
export interface DmNotice {
  readonly kind: 'dm';
  readonly message: DirectMessage;
}

export interface Sender {
  readonly agentId: string;
  readonly tenantId: string;
  readonly fleetId: string;
}

export interface SendReceipt {
  readonly to: string;
  readonly seq: number;
  readonly sentAt: string;
}

/**
 * How far an agent's seq jumps with its first message on a new database timeline (after a failover or
 * a restore): beyond any number of messages the lost history could have held, so no seq a client has
 * seen is assigned again, and far below 2^53 after any number of failovers.
 */
export const TIMELINE_SEQ_JUMP = 1_000_000_000;

/**
 * Direct messages are written to Postgres before they are acknowledged, with a sequence number per
 * recipient (incremented under the recipient row's lock, so numbers commit in order). Numbers are
 * gapless except for one jump per database timeline (TIMELINE_SEQ_JUMP).
 * Live delivery is a notification over the bus; the recipient's session falls back to the table.
 */
export class Messages {
  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
  ) {}

  async send(sender: Sender, to: string, bodyJson: string, idempotencyKey?: string): Promise<SendReceipt> {
    const { result } = await mutate(this.db, sender.agentId, idempotencyKey, 'dm.send', async (tx) => {
      const [recipient] = await tx.query<{ dm_seq: string | number }>(
        `UPDATE agents SET dm_seq = dm_seq + 1 + CASE WHEN dm_timeline = wal.timeline THEN 0 ELSE $4 END,
                           dm_timeline = wal.timeline
         FROM (SELECT ringforge_wal_timeline() AS timeline) wal
         WHERE id = $1 AND fleet_id = $2 AND tenant_id = $3 RETURNING dm_seq`,
        [to, sender.fleetId, sender.tenantId, TIMELINE_SEQ_JUMP],
      );
      if (recipient === undefined) throw notFound(`agent ${to} in your fleet`);
      const seq = Number(recipient.dm_seq);
      const [row] = await tx.query<{ created_at: Date }>(
        `INSERT INTO messages (recipient_id, seq, tenant_id, fleet_id, sender_id, body)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`,
        [to, seq, sender.tenantId, sender.fleetId, sender.agentId, bodyJson],
      );
      return { to, seq, sentAt: new Date(row!.created_at).toISOString() };
    });
    // Also after a replay: the first attempt may have stored the message and died before notifying.
    const notice: DmNotice = {
      kind: 'dm',
      message: { seq: result.seq, from: sender.agentId, body: JSON.parse(bodyJson), sentAt: result.sentAt },
    };
    await this.bus.publish(channels.agent(to), notice).catch(() => undefined);
    return result;
  }

  /**
   * Messages after `afterSeq`, oldest first: at most `limit`, and no more once their bodies reach
   * `maxBytes` (the first one always comes), so one reply never carries a whole backlog.
   */
  async after(agentId: string, afterSeq: number, limit: number, maxBytes = Infinity): Promise<DirectMessage[]> {
    const rows = await this.db.query<{ seq: string | number; sender_id: string; body: string; created_at: Date }>(
      'SELECT seq, sender_id, body, created_at FROM messages WHERE recipient_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [agentId, afterSeq, limit],
    );
    let bytes = 0;
    const within = rows.filter((r, i) => (bytes += r.body.length) <= maxBytes || i === 0);
    return within.map((r) => ({
      seq: Number(r.seq),
      from: r.sender_id,
      body: JSON.parse(r.body) as unknown,
      sentAt: new Date(r.created_at).toISOString(),
    }));
  }

  /** Cumulative acknowledgement: every message up to `seq` was processed. Returns the acknowledged seq. */
  async ack(agentId: string, seq: number): Promise<number> {
    const [row] = await this.db.query<{ acked_seq: string | number; dm_seq: string | number }>(
      `UPDATE agents SET acked_seq = GREATEST(acked_seq, $2) WHERE id = $1 AND dm_seq >= $2
       RETURNING acked_seq, dm_seq`,
      [agentId, seq],
    );
    if (row === undefined)
      throw new HubError('invalid_request', `payload.seq: ${seq} is beyond the last message sent to you`);
    return Number(row.acked_seq);
  }
}
